"""The CEL subset that evaluates the vendored CRDs' x-kubernetes-validations rules."""
import pytest

from tests.k8s.cel import CelUnsupported, evaluate, is_transition_rule

EXCLUSIVE = "!(has(self.imageCatalogRef) && has(self.imageName))"
DURABILITY = ("self.dataDurability!='preferred' || ((!has(self.standbyNamesPre) || self.standbyNamesPre.size()==0) "
              "&& (!has(self.standbyNamesPost) || self.standbyNamesPost.size()==0))")


@pytest.mark.parametrize("rule, value, holds", [
    (EXCLUSIVE, {"imageName": "pg:15"}, True),
    (EXCLUSIVE, {"imageName": "pg:15", "imageCatalogRef": {}}, False),
    ("!has(self.icuLocale) || self.localeProvider == 'icu'", {}, True),
    ("!has(self.icuLocale) || self.localeProvider == 'icu'", {"icuLocale": "zh", "localeProvider": "icu"}, True),
    ("!has(self.icuLocale) || self.localeProvider == 'icu'", {"icuLocale": "zh", "localeProvider": "libc"}, False),
    ("self > 0", 1, True),
    ("self > 0", 0, False),
    ("self != 'postgres'", "visits", True),
    ("self != 'postgres'", "postgres", False),
    (DURABILITY, {"dataDurability": "required", "standbyNamesPre": ["a"]}, True),
    (DURABILITY, {"dataDurability": "preferred", "standbyNamesPre": []}, True),
    (DURABILITY, {"dataDurability": "preferred", "standbyNamesPost": ["b"]}, False),
])
def test_rules_as_upstream_writes_them(rule, value, holds):
    assert evaluate(rule, value) is holds


def test_errors_follow_cel_logic():
    # A missing field is an error; `||` is true if either side is, whatever the other does.
    assert evaluate("self.missing == 'x' || true", {}) is True
    assert evaluate("true || self.missing == 'x'", {}) is True
    assert evaluate("self.missing == 'x' || false", {}) is False      # an error fails the rule
    assert evaluate("self.missing == 'x' && false", {}) is False
    assert evaluate("self > 0", "1") is False                         # no matching overload
    assert evaluate("self == 1", "1") is False                        # heterogeneous equality


@pytest.mark.parametrize("rule", ["self.all(x, x > 0)", "self.matches('^a')", "size(self) > 0", "self in ['a']",
                                  "self > 0 ? true : false"])
def test_what_it_cannot_read_is_refused_not_passed(rule):
    with pytest.raises(CelUnsupported):
        evaluate(rule, [1])


def test_transition_rules_are_recognised():
    assert is_transition_rule("self == oldSelf")
    assert not is_transition_rule("self.oldSelfish == 1")
