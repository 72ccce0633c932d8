# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""make docs-check: the built site, one page per kind, in a real headless
browser (Debian's Chromium) at 1280 px wide.

For each page (the index, a module, a role, the performance page):
  1. the layout: the page is loaded in a 1280 px frame of a probe page and a
     small script lists every element of the page's text that runs past the
     right edge of the content column or of the window, unless it sits in a box
     that scrolls sideways (a table that scrolls is fine, one that is cut off
     is not), and the page's own scroll width against the window's width;
  2. the pixels: a screenshot of the whole page, 1280 px wide, into
     .build/docs/screenshots/<name>.png; the strip at the window's right edge,
     below the top bar, must be empty (one colour): content drawn there ran
     past the page's margin and is cut off by the window.
Any finding fails the check, naming the page. Offline (file:// URLs), each
browser run bounded in time, in a process group of its own that is killed
when the run ends, so no Chromium process stays behind.

Usage: python docs/check_site.py [HTML_DIR [OUT_DIR]]
"""

from __future__ import absolute_import, division, print_function

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

WIDTH = 1280
HEIGHT = 900
MAX_HEIGHT = 16000  # a screenshot taller than this is cut there
TIMEOUT = 60  # seconds per browser run
STRIP = 24  # the right-edge strip of the screenshot that must be empty, px
TOP_BAR = 50  # the theme's fixed top bar, px

PAGES = [
    ("index", "index.html"),
    ("module", "reference/node_network_module.html"),
    ("role", "reference/bridge_network_role.html"),
    ("performance", "performance.html"),
]

# Runs in the probe page once every frame has loaded; writes its findings as
# JSON into <pre id="result">, which --dump-dom prints.
PROBE_SCRIPT = r"""
function scrolls(el) {
  var s = getComputedStyle(el).overflowX;
  return s === 'auto' || s === 'scroll';
}
function describe(el) {
  var text = (el.textContent || '').replace(/\s+/g, ' ').trim().slice(0, 60);
  var id = el.id ? '#' + el.id : '';
  var cls = (typeof el.className === 'string' && el.className) ? '.' + el.className.split(/\s+/)[0] : '';
  return el.tagName.toLowerCase() + id + cls + (text ? ' "' + text + '"' : '');
}
function check(frame) {
  var win = frame.contentWindow, doc = frame.contentDocument;
  var out = {width: win.innerWidth, scroll_width: doc.documentElement.scrollWidth,
             height: doc.documentElement.scrollHeight, problems: []};
  var main = doc.querySelector('div[role=main]') || doc.body;
  var limit = Math.min(main.getBoundingClientRect().right, win.innerWidth);
  var all = main.querySelectorAll('*');
  for (var i = 0; i < all.length; i++) {
    var el = all[i], r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || r.right <= limit + 1) continue;
    var ok = false, p = el.parentElement;
    while (p && p !== main.parentElement) {
      if (scrolls(p) && p.getBoundingClientRect().right <= limit + 1) { ok = true; break; }
      p = p.parentElement;
    }
    if (ok) continue;
    /* Report the outermost element that runs past, not each of its children. */
    var parent = el.parentElement;
    if (parent && parent !== main && parent.getBoundingClientRect().right > limit + 1 && main.contains(parent)) continue;
    out.problems.push(describe(el) + ' ends at ' + Math.round(r.right) + ' px, past the content edge at ' + Math.round(limit) + ' px');
  }
  if (out.scroll_width > out.width + 1)
    out.problems.push('the page is ' + out.scroll_width + ' px wide in a ' + out.width + ' px window');
  return out;
}
window.addEventListener('load', function () {
  var result = {};
  var frames = document.querySelectorAll('iframe');
  for (var i = 0; i < frames.length; i++) {
    try { result[frames[i].name] = check(frames[i]); }
    catch (e) { result[frames[i].name] = {error: String(e)}; }
  }
  var pre = document.createElement('pre');
  pre.id = 'result';
  pre.textContent = JSON.stringify(result);
  document.body.appendChild(pre);
});
"""


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("docs-check: no chromium on PATH (apt-get install chromium)")


def _kill_group(pgid):
    """Kill what is left of a browser run's process group and wait (up to 5 s)
    until the group is gone."""
    for _attempt in range(50):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except OSError:
            return
        time.sleep(0.1)


def run_browser(binary, profile, args):
    """One headless run, bounded in time; its whole process group is killed
    afterwards (Chromium leaves helper processes otherwise)."""
    cmd = [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-extensions",
           "--disable-background-networking", "--no-first-run", "--no-default-browser-check",
           "--hide-scrollbars", "--user-data-dir=" + profile] + args
    # Its crash reporter and GLib's settings write under the home directory
    # whatever --user-data-dir says: the profile is their home for the run.
    env = dict(os.environ, HOME=profile, XDG_CONFIG_HOME=os.path.join(profile, ".config"),
               XDG_CACHE_HOME=os.path.join(profile, ".cache"))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, env=env)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        proc.communicate()
        raise SystemExit("docs-check: chromium did not finish within %d s: %s" % (TIMEOUT, " ".join(args)))
    finally:
        _kill_group(proc.pid)
    if proc.returncode != 0:
        raise SystemExit("docs-check: chromium failed (%s): %s" % (proc.returncode, err.decode(errors="replace")[-2000:]))
    return out.decode("utf-8", "replace")


PIXEL_SCRIPT = r"""
window.addEventListener('load', function () {
  var result = {};
  var imgs = document.querySelectorAll('img');
  for (var i = 0; i < imgs.length; i++) {
    var img = imgs[i], w = img.naturalWidth, h = img.naturalHeight;
    try {
      var canvas = document.createElement('canvas');
      canvas.width = w; canvas.height = h;
      var ctx = canvas.getContext('2d');
      ctx.drawImage(img, 0, 0);
      var top = Math.min(TOP_BAR, h), data = ctx.getImageData(w - STRIP, top, STRIP, h - top).data;
      var counts = {}, best = null, n;
      for (n = 0; n < data.length; n += 4) {
        var key = data[n] + ',' + data[n + 1] + ',' + data[n + 2];
        counts[key] = (counts[key] || 0) + 1;
        if (best === null || counts[key] > counts[best]) best = key;
      }
      var bg = best ? best.split(',').map(Number) : [0, 0, 0], ink = 0, first = null;
      for (n = 0; n < data.length; n += 4) {
        if (Math.max(Math.abs(data[n] - bg[0]), Math.abs(data[n + 1] - bg[1]), Math.abs(data[n + 2] - bg[2])) > 24) {
          ink++;
          if (first === null) first = top + Math.floor(n / 4 / STRIP);
        }
      }
      result[img.getAttribute("data-name")] = {width: w, height: h, ink: ink, first: first};
    } catch (e) {
      result[img.getAttribute('data-name')] = {error: String(e)};
    }
  }
  var pre = document.createElement('pre');
  pre.id = 'result';
  pre.textContent = JSON.stringify(result);
  document.body.appendChild(pre);
});
""".replace("TOP_BAR", str(TOP_BAR)).replace("STRIP", str(STRIP))


def dump(binary, profile, out_dir, name, script, body, width):
    """A probe page of ours, its script's JSON result read from --dump-dom."""
    path = os.path.join(out_dir, name)
    with open(path, "w") as handle:
        handle.write("<!DOCTYPE html><html><head><meta charset='utf-8'><script>%s</script></head>"
                     "<body style='margin:0'>%s</body></html>" % (script, body))
    dom = run_browser(binary, profile, ["--allow-file-access-from-files", "--virtual-time-budget=20000",
                                        "--window-size=%d,%d" % (width, HEIGHT), "--dump-dom",
                                        "file://" + path])
    match = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
    if not match:
        raise SystemExit("docs-check: the probe page %s reported nothing (did the pages load?)" % path)
    text = match.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return json.loads(text)


def main(argv):
    html_dir = os.path.abspath(argv[1] if len(argv) > 1 else ".build/docs/html")
    out_dir = os.path.abspath(argv[2] if len(argv) > 2 else ".build/docs/screenshots")
    for _name, page in PAGES:
        if not os.path.isfile(os.path.join(html_dir, page)):
            sys.exit("docs-check: %s is missing (run make docs first)" % os.path.join(html_dir, page))
    if os.path.isdir(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    binary = chromium()
    profile = tempfile.mkdtemp(prefix="docs-check-")
    failures = []
    try:
        # 1. The layout, all pages at once, each in a 1280 px frame.
        frames = "\n".join(
            '<iframe name="%s" src="%s" width="%d" height="%d" style="border:0;display:block"></iframe>'
            % (name, "file://" + os.path.join(html_dir, page), WIDTH, HEIGHT) for name, page in PAGES)
        layout = dump(binary, profile, out_dir, "layout.html", PROBE_SCRIPT, frames, WIDTH + 40)
        # 2. A screenshot of each whole page, 1280 px wide.
        for name, page in PAGES:
            found = layout.get(name) or {"error": "not checked"}
            if "error" in found:
                failures.append("%s (%s): the page could not be measured: %s" % (name, page, found["error"]))
                continue
            failures.extend("%s (%s): %s" % (name, page, problem) for problem in found["problems"])
            height = max(HEIGHT, min(MAX_HEIGHT, int(found["height"])))
            run_browser(binary, profile, ["--window-size=%d,%d" % (WIDTH, height),
                                          "--screenshot=" + os.path.join(out_dir, name + ".png"),
                                          "file://" + os.path.join(html_dir, page)])
        # 3. The pixels of the screenshots' right-edge strips, read through a canvas.
        images = "\n".join('<img data-name="%s" src="%s">' % (name, "file://" + os.path.join(out_dir, name + ".png"))
                           for name, _page in PAGES if os.path.isfile(os.path.join(out_dir, name + ".png")))
        pixels = dump(binary, profile, out_dir, "pixels.html", PIXEL_SCRIPT, images, WIDTH)
        for name, page in PAGES:
            if name not in layout or "error" in layout[name]:
                continue
            shot = os.path.join(out_dir, name + ".png")
            seen = pixels.get(name) or {"error": "no screenshot"}
            if "error" in seen:
                failures.append("%s (%s): the screenshot could not be read: %s" % (name, page, seen["error"]))
                continue
            if seen["width"] != WIDTH:
                failures.append("%s (%s): the screenshot is %d px wide, not %d" % (name, page, seen["width"], WIDTH))
            if seen["ink"]:
                failures.append("%s (%s): %d pixels drawn in the %d px strip at the window's right edge (first at"
                                " y=%d of %s): content runs past the page and is cut off"
                                % (name, page, seen["ink"], STRIP, seen["first"], shot))
            print("docs-check: %-11s %-40s screenshot %d x %d px, page scroll width %d px"
                  % (name, page, seen["width"], seen["height"], layout[name]["scroll_width"]))
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if failures:
        print("\n".join("docs-check: FAIL " + f for f in failures))
        return 1
    print("docs-check: %d pages at %d px, nothing runs past the page; screenshots in %s" % (len(PAGES), WIDTH, out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
