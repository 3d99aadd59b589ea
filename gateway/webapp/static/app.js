// Plain script, loaded from this origin only (the CSP allows no inline script).
"use strict";
