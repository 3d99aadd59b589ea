"""The work pages in the test's headless Chromium on the narrowest phone (360 px): a township
officer refers a case to the health bureau and reads the office's inbox; the county sets a
township's contacts, a bad number refused at its field first. No page scrolls sideways."""
from nameko.standalone.rpc import ServiceRpcProxy
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.gateway.conftest import VILLAGE
from tests.gateway.test_webapp_browser import (COORDINATOR, OFFICER, PHONE, accounts, navigate,  # noqa: F401
                                               no_horizontal_scroll, phone, sign_in)

NARROW = {**PHONE, "width": 360}


def test_township_officer_refers_a_case_and_the_county_sets_contacts_on_a_360_px_phone(api, system, phone):
    phone.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", NARROW)
    sign_in(phone, system, OFFICER)
    navigate(phone, phone.find_element(By.CSS_SELECTOR, 'nav.menu a[href="/app/referrals"]'))
    Select(phone.find_element(By.ID, "to_department")).select_by_value("health")
    Select(phone.find_element(By.ID, "division_code")).select_by_value(VILLAGE)
    phone.find_element(By.ID, "request").send_keys("老人血压持续偏高，请安排家庭医生上门随访")
    navigate(phone, phone.find_element(By.CSS_SELECTOR, "#new-referral button[type=submit]"))
    assert "已发出转办" in phone.find_element(By.ID, "flash").text
    sent = phone.find_element(By.ID, "referrals-owed").text
    assert "民政 → 卫生健康" in sent and "待接收" in sent and "请安排家庭医生" in sent
    assert no_horizontal_scroll(phone)
    phone.shot("referrals")
    with ServiceRpcProxy("notifications", system.config) as notifications:
        [referral] = notifications.list_referrals({})
    assert (referral["to_department"], referral["division_code"]) == ("health", VILLAGE)
    navigate(phone, phone.find_element(By.CSS_SELECTOR, 'nav.menu a[href="/app/inbox"]'))
    assert phone.find_element(By.ID, "no-messages") and no_horizontal_scroll(phone)
    phone.shot("inbox")

    phone.delete_all_cookies()
    sign_in(phone, system, COORDINATOR)
    navigate(phone, phone.find_element(By.CSS_SELECTOR, 'nav.menu a[href="/app/contacts"]'))
    card = phone.find_element(By.ID, "party-township-410928101")
    card.find_element(By.TAG_NAME, "summary").click()
    card.find_element(By.NAME, "sms").send_keys("1390000")
    navigate(phone, card.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    error = phone.find_element(By.ID, "sms-township-410928101-error")
    assert "13900000001" in error.text                     # the service's example of a good number
    assert phone.find_element(By.ID, "sms-township-410928101").get_attribute("value") == "1390000"
    assert no_horizontal_scroll(phone)
    phone.shot("contacts-refused")
    field = phone.find_element(By.ID, "sms-township-410928101")
    field.clear()
    field.send_keys("13900000001")
    navigate(phone, phone.find_element(By.CSS_SELECTOR, "#party-township-410928101 button[type=submit]"))
    assert "联系方式已保存" in phone.find_element(By.ID, "flash").text
    channels = phone.find_element(By.CSS_SELECTOR, "#party-township-410928101 .channels").text
    assert "短信 13900000001" in channels and "站内信箱" in channels
    assert no_horizontal_scroll(phone)
    phone.shot("contacts-saved")
