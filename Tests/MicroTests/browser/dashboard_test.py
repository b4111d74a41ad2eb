"""Drives the `micro web` dashboard in headless Chromium (selenium + chromedriver) against a running greeter.

Usage: dashboard_test.py URL SCREENSHOT_DIR
Prints `ready-to-kill` once the call from the form has shown its reply and its trace page its span, then waits for the greeter's
row to leave the service list without a reload (the test stops the greeter when it reads that line).
Exits 0 when every step held; otherwise prints what failed and exits 1.
"""
import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def main():
    url, shots = sys.argv[1], sys.argv[2]
    os.makedirs(shots, exist_ok=True)
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,900",
                "--no-first-run", "--disable-extensions", "--disable-background-networking"):
        options.add_argument(arg)
    options.binary_location = os.environ.get("MICRO_CHROMIUM", "/usr/bin/chromium")
    driver = webdriver.Chrome(service=Service(os.environ.get("MICRO_CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)
    wait = WebDriverWait(driver, 15)
    try:
        # The service list shows the greeter.
        driver.get(url + "/")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, 'tr.service[data-name="greeter"]'))
        driver.save_screenshot(os.path.join(shots, "1-services.png"))

        # Its page shows both endpoints and their shapes.
        driver.find_element(By.LINK_TEXT, "greeter").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, 'article.endpoint[data-endpoint="Greeter.Countdown"]'))
        hello = driver.find_element(By.CSS_SELECTOR, 'article.endpoint[data-endpoint="Greeter.Hello"]')
        countdown = driver.find_element(By.CSS_SELECTOR, 'article.endpoint[data-endpoint="Greeter.Countdown"]')
        assert "name" in hello.find_element(By.CSS_SELECTOR, "pre.shape.request").text, "Hello's request shape"
        assert "message" in hello.find_element(By.CSS_SELECTOR, "pre.shape.response").text, "Hello's response shape"
        assert "from" in countdown.find_element(By.CSS_SELECTOR, "pre.shape.request").text, "Countdown's request shape"
        health = driver.find_element(By.CSS_SELECTOR, "td.health").text
        assert health == "ok", "node health: " + health

        # A call from the form shows the reply.
        area = hello.find_element(By.CSS_SELECTOR, "textarea")
        area.clear()
        area.send_keys('{"name": "Browser"}')
        hello.find_element(By.CSS_SELECTOR, "button").click()
        result = hello.find_element(By.CSS_SELECTOR, "pre.result")
        wait.until(lambda d: "Hello Browser" in result.text)
        driver.execute_script("arguments[0].scrollIntoView()", hello)
        driver.save_screenshot(os.path.join(shots, "2-greeter-call.png"))

        # The call's trace: listed on the reloaded page, its page draws the span with a visible bar.
        driver.get(url + "/service/greeter")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "tr.trace a"))
        driver.find_element(By.CSS_SELECTOR, "tr.trace a").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "table.waterfall tr.span"))
        names = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "table.waterfall td.span-name")]
        assert any(n.strip() == "Greeter.Hello" for n in names), "trace spans: %r" % names
        bar = driver.execute_script("return document.querySelector('tr.span svg.bar rect').getBoundingClientRect().width")
        assert bar > 0, "the span's bar is drawn: %r" % bar
        driver.save_screenshot(os.path.join(shots, "3-greeter-trace.png"))

        # Back on the list, the greeter leaves it without a reload once it stops.
        driver.get(url + "/")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, 'tr.service[data-name="greeter"]'))
        wait.until(lambda d: d.execute_script("return document.body.getAttribute('data-updates')") is not None)
        driver.execute_script("window.notReloaded = true")
        print("ready-to-kill", flush=True)
        WebDriverWait(driver, 20).until(lambda d: not d.find_elements(By.CSS_SELECTOR, 'tr.service[data-name="greeter"]'))
        assert driver.execute_script("return window.notReloaded === true"), "the page was reloaded"
        driver.save_screenshot(os.path.join(shots, "4-greeter-gone.png"))
        print("ok", flush=True)
        return 0
    except Exception as e:  # noqa: BLE001 - any failure is reported with a screenshot
        driver.save_screenshot(os.path.join(shots, "failure.png"))
        print("failed: %r\npage: %s" % (e, driver.page_source[:2000]), flush=True)
        return 1
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.exit(main())
