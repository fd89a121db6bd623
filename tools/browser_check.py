"""Look at the docs preview and at JupyterLab in headless Chromium, as a reader would.

    python tools/browser_check.py docs   # every page of _preview/ (build it first: python tools/docs_preview.py)
    python tools/browser_check.py lab    # jupyter lab on a free port, nbs/index.ipynb, Run > Run All Cells
    python tools/browser_check.py all    # both

`docs` serves `_preview/` on 127.0.0.1 and checks that every page listed in `_preview/pages.json`
has its title (tab and heading), its code cells, its figures (as many as the notebook's image
outputs, each one decoded), no error output (tracebacks, errors on stderr), no broken local link
and no error in the browser console; it keeps a screenshot of the home page.

`lab` copies `nbs/`, settings.ini and the package to a temporary folder (so nothing in the
repository is saved over, not even by a notebook's closing `nbdev_export()`), starts
`jupyter lab` there on a free local port with a token, opens the notebook by its lab URL, runs
all its cells from the Run menu in a fresh kernel, and checks that every code cell ran, that
every cell that has outputs in the saved notebook shows outputs again, and that none is an error.

Chromium and its driver come from Debian (`apt-get install -y chromium chromium-driver`),
driven by Selenium; nothing is downloaded. Screenshots go to `.ci/out/screenshots/`.
"""
import argparse, functools, http.server, json, os, re, secrets, shutil, socket, subprocess, sys, tempfile, threading, time
import urllib.parse, urllib.request
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT/'.ci'/'out'/'screenshots'
ERROR_TEXT = re.compile(r'Traceback \(most recent call last\)|^\s*\w*(Error|Exception)\b', re.M)


class CheckFailed(Exception): "A page or notebook does not show what it must."


def _which(env:str, *names) -> str:
    "Path of the first program in `names` on PATH, or `$env` when set."
    if os.environ.get(env): return os.environ[env]
    for n in names:
        if shutil.which(n): return shutil.which(n)
    sys.exit(f"{names[0]} not found: install it with `apt-get install -y chromium chromium-driver` (or set ${env})")


def chromium(profile:Path, width:int=1280, height:int=900):
    "Headless Chromium from Debian, driven by Debian's chromedriver, with a fresh profile and browser-console logging."
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = _which('CHROMIUM', 'chromium', 'chromium-browser')
    for a in ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
              '--disable-background-networking', '--disable-component-update', '--disable-sync',
              '--disable-dev-shm-usage', f'--user-data-dir={profile}', f'--window-size={width},{height}']:
        opts.add_argument(a)
    opts.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    service = Service(executable_path=_which('CHROMEDRIVER', 'chromedriver'), log_output=str(profile.parent/'chromedriver.log'))
    return webdriver.Chrome(service=service, options=opts)


def _wait(cond, timeout:float, what:str, every:float=0.25):
    "Poll `cond()` until it is truthy; its value, or `CheckFailed` saying `what` did not happen in `timeout` s."
    end = time.time() + timeout
    while True:
        try:
            v = cond()
            if v: return v
        except Exception as e:  # the page is still loading
            if time.time() > end: raise CheckFailed(f"{what}: {e}") from e
        if time.time() > end: raise CheckFailed(f"{what} (after {timeout:.0f}s)")
        time.sleep(every)


def _screenshot(driver, dest:Path, full:bool=True, max_height:int=6000):
    "Save a PNG of the page (the whole page when `full`, up to `max_height` pixels)."
    dest.parent.mkdir(parents=True, exist_ok=True)
    if full:
        w = driver.get_window_size()['width']
        h = driver.execute_script("const m = document.querySelector('main') || document.body;"
                                  "return Math.ceil(m.getBoundingClientRect().bottom + window.scrollY) + 40")
        driver.set_window_size(w, min(max(h, 600), max_height))
    driver.save_screenshot(str(dest))
    return dest


def _console_errors(driver) -> list:
    "SEVERE entries of the browser console since the last call."
    return [e['message'] for e in driver.get_log('browser') if e.get('level') == 'SEVERE']


def _lib_name() -> str:
    "The package folder named by settings.ini's `lib_path`."
    import configparser
    cp = configparser.ConfigParser()
    cp.read(ROOT/'settings.ini')
    return cp['DEFAULT'].get('lib_path', 'imagetextslot')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- docs preview

_PAGE_JS = r"""
const vis = e => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
const h1 = document.querySelector('h1');
const outImgs = [...document.querySelectorAll('.jp-OutputArea-output img')];
return {
  title: document.title,
  h1: h1 ? h1.textContent.replace(/\u00b6$/, '').trim() : null,
  code: [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-editor')].filter(vis).filter(e => e.textContent.trim()).length,
  figures: outImgs.length,
  broken_imgs: [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => (i.getAttribute('src') || '').slice(0, 80)),
  stderr: [...document.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]')].map(e => e.innerText),
  links: [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')),
  text_len: document.body.innerText.length,
};
"""


def _serve(folder:Path):
    "A quiet HTTP server for `folder` on a free port of 127.0.0.1, in a thread; returns (server, base URL)."
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f'http://127.0.0.1:{srv.server_address[1]}/'


def check_page(driver, base:str, out:Path, page:dict) -> list:
    "Problems with one preview page (empty when it shows its title, code and figures, and no error)."
    driver.get(base + page['page'])
    _wait(lambda: driver.execute_script('return document.readyState') == 'complete', 30, f"{page['page']} did not load")
    got = driver.execute_script(_PAGE_JS)
    probs = []
    if got['title'] != page['title']: probs.append(f"tab title is {got['title']!r}, not {page['title']!r}")
    if got['h1'] != page['title']: probs.append(f"first heading is {got['h1']!r}, not {page['title']!r}")
    if got['code'] != page['code_cells']: probs.append(f"{got['code']} code cells shown, the notebook has {page['code_cells']}")
    if got['figures'] != page['figures']: probs.append(f"{got['figures']} figures shown, the notebook has {page['figures']}")
    if got['broken_imgs']: probs.append(f"images that do not load: {got['broken_imgs']}")
    errs = [t.strip().splitlines()[-1] if t.strip() else '' for t in got['stderr'] if ERROR_TEXT.search(t)]
    if errs or page.get('errors'): probs.append(f"error output: {errs or page['errors']}")
    here = (out/page['page']).parent
    for href in got['links']:
        path = urllib.parse.unquote(href.split('#')[0].split('?')[0])
        if not path or re.match(r'^[a-z][a-z0-9+.-]*:', path, re.I): continue
        target = (out/path.lstrip('/')) if path.startswith('/') else (here/path)
        if not target.exists(): probs.append(f"broken link: {href}")
    if got['text_len'] < 20: probs.append('the page is (nearly) empty')
    console = _console_errors(driver)
    if console: probs.append(f"browser console errors: {console}")
    return probs


def check_docs(out:Path, shots:Path, all_shots:bool=False) -> int:
    "Open every page of the preview in `out`; the number of pages with problems."
    manifest = out/'pages.json'
    if not manifest.exists(): sys.exit(f"{manifest} not found: build the preview first with `python tools/docs_preview.py`")
    pages = json.loads(manifest.read_text(encoding='utf-8'))
    if not pages: sys.exit(f"{manifest} lists no page")
    srv, base = _serve(out)
    bad = 0
    with tempfile.TemporaryDirectory(prefix='docs-chromium-') as tmp:
        driver = chromium(Path(tmp)/'profile')
        try:
            for page in pages:
                t0 = time.time()
                try: probs = check_page(driver, base, out, page)
                except CheckFailed as e: probs = [str(e)]
                bad += bool(probs)
                print(f"{'FAIL' if probs else 'ok  '} {page['page']:<32} {page['title'][:40]!r:<42} "
                      f"code {page['code_cells']:>3}  figures {page['figures']:>2}  ({time.time()-t0:.1f}s)")
                for p in probs: print(f"       - {p}")
                if all_shots: _screenshot(driver, shots/'docs'/(page['page'].replace('/', '__') + '.png'))
            driver.get(base + 'index.html')
            _wait(lambda: driver.execute_script('return document.readyState') == 'complete', 30, 'home page did not load')
            print(f"screenshot of the home page: {_screenshot(driver, shots/'docs-home.png').relative_to(ROOT)}")
        finally:
            driver.quit()
            srv.shutdown()
    print(f"docs: {len(pages)-bad} passed, {bad} failed")
    return bad


# ---------------------------------------------------------------- JupyterLab

# Lab settings for the test's own, temporary settings folder: no news pop-up, no autosave, and a
# notebook without kernel metadata (nbdev_clean removes it) starts the default kernel unasked.
_LAB_SETTINGS = {
    '@jupyterlab/apputils-extension/notification.jupyterlab-settings': {'fetchNews': 'false', 'checkForUpdates': False},
    '@jupyterlab/docmanager-extension/plugin.jupyterlab-settings': {'autosave': False},
    '@jupyterlab/notebook-extension/tracker.jupyterlab-settings': {'autoStartDefaultKernel': True},
}

_NB_STATE_JS = r"""
if (!window.jupyterapp) return null;
const w = Array.from(window.jupyterapp.shell.widgets('main')).find(w => w.context && w.context.path === arguments[0]);
if (!w || !w.content || !w.sessionContext) return null;
const k = w.sessionContext.session && w.sessionContext.session.kernel;
const cells = w.content.widgets.filter(c => c.model.type === 'code');
return {
  path: w.context.path,
  kernel: k ? k.status : null,
  kernel_name: k ? k.name : null,
  counts: cells.map(c => c.model.executionCount),
  n_outputs: cells.map(c => c.model.outputs.length),
  images: cells.map(c => { let n = 0; for (let i = 0; i < c.model.outputs.length; i++)
    n += Object.keys(c.model.outputs.get(i).toJSON().data || {}).some(k => k.startsWith('image/')); return n; }),
  errors: cells.map(c => { const r = [];
    for (let i = 0; i < c.model.outputs.length; i++) { const o = c.model.outputs.get(i).toJSON();
      if (o.output_type === 'error') r.push(o.ename + ': ' + o.evalue);
      if (o.output_type === 'stream' && o.name === 'stderr') r.push('stderr: ' + [].concat(o.text).join('')); }
    return r; }),
  busy_prompts: [...w.node.querySelectorAll('.jp-InputPrompt')].filter(e => e.textContent.includes('*')).length,
};
"""


class JupyterLab:
    "`jupyter lab` on a free port of 127.0.0.1 with a token, serving `root`; stopped (kernels too) on exit."
    def __init__(self, root:Path, work:Path):
        self.root, self.work, self.port, self.token = root, work, _free_port(), secrets.token_hex(16)
        self.url = f'http://127.0.0.1:{self.port}'

    def __enter__(self):
        settings = self.work/'lab-settings'
        for name, val in _LAB_SETTINGS.items():
            (settings/name).parent.mkdir(parents=True, exist_ok=True)
            (settings/name).write_text(json.dumps(val))
        env = {**os.environ, 'JUPYTER_CONFIG_DIR': str(self.work/'config'), 'JUPYTER_RUNTIME_DIR': str(self.work/'runtime'),
               'JUPYTERLAB_WORKSPACES_DIR': str(self.work/'workspaces'), 'PYDEVD_DISABLE_FILE_VALIDATION': '1'}
        cmd = [sys.executable, '-m', 'jupyterlab', '--no-browser', '--ip=127.0.0.1', f'--port={self.port}', '--port-retries=0',
               f'--IdentityProvider.token={self.token}', f'--ServerApp.root_dir={self.root}', '--expose-app-in-browser',
               f'--LabApp.user_settings_dir={settings}', f'--LabApp.workspaces_dir={self.work/"workspaces"}',
               '--ServerApp.shutdown_no_activity_timeout=900', '--MappingKernelManager.cull_idle_timeout=0']
        if hasattr(os, 'geteuid') and os.geteuid() == 0: cmd.append('--allow-root')
        self.log = open(self.work/'jupyter-lab.log', 'w')
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=self.root)
        try: _wait(self._up, 90, 'jupyter lab did not start', every=0.5)
        except Exception:
            self.__exit__(); print((self.work/'jupyter-lab.log').read_text()[-3000:], file=sys.stderr); raise
        return self

    def api(self, path:str, method:str='GET'):
        req = urllib.request.Request(self.url + path, method=method, headers={'Authorization': f'token {self.token}'})
        with urllib.request.urlopen(req, timeout=10) as r: return json.loads(r.read() or b'null')

    def _up(self):
        if self.proc.poll() is not None: raise CheckFailed(f'jupyter lab exited with {self.proc.returncode}')
        try: return self.api('/api/status') is not None
        except OSError: return False

    def __exit__(self, *exc):
        try: self.api('/api/shutdown', 'POST')  # the server stops its kernels too
        except Exception: pass
        try: self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            try: self.proc.wait(10)
            except subprocess.TimeoutExpired: self.proc.kill(); self.proc.wait()
        self.log.close()


def _click_menu(driver, menu:str, item:str) -> bool:
    "Click `menu` in the menu bar, then `item` in it, as a person would; whether both were found."
    from selenium.webdriver.common.by import By
    tops = [e for e in driver.find_elements(By.CSS_SELECTOR, '.lm-MenuBar-item') if e.text.strip() == menu]
    if not tops: return False
    tops[0].click()
    try:
        entry = _wait(lambda: [e for e in driver.find_elements(By.CSS_SELECTOR, '.lm-Menu-item')
                               if e.text.strip().startswith(item) and e.is_displayed()], 10, f'menu {menu} > {item}')
    except CheckFailed: return False
    entry[0].click()
    return True


def run_in_lab(driver, lab:JupyterLab, rel:str, saved, shot:Path, timeout:float) -> list:
    "Open notebook `rel` in lab, Run > Run All Cells, wait for the kernel; the problems found."
    from selenium.webdriver.common.by import By
    driver.get(f"{lab.url}/lab/tree/{urllib.parse.quote(rel)}?token={lab.token}&reset")
    state = lambda: driver.execute_script(_NB_STATE_JS, rel)
    st = _wait(lambda: (s := state()) and s['path'] == rel and s['kernel'] == 'idle' and s, 120,
               f'{rel}: the notebook did not open with an idle kernel', every=0.5)
    n_code = len(st['counts'])
    probs = []
    if n_code != sum(c.cell_type == 'code' for c in saved.cells):
        probs.append(f"lab shows {n_code} code cells, the file has {sum(c.cell_type == 'code' for c in saved.cells)}")
    # Dismiss any notification or dialog that would sit over the menu.
    for b in driver.find_elements(By.CSS_SELECTOR, '.jp-Dialog .jp-mod-accept'):
        if b.is_displayed(): b.click()
    t0 = time.time()
    how = 'Run > Run All Cells'
    if not _click_menu(driver, 'Run', 'Run All Cells'):
        how = "command notebook:run-all-cells (the Run menu was not found)"
        driver.execute_script("return window.jupyterapp.commands.execute('notebook:run-all-cells')")
    # Done when the kernel has been idle, with no cell waiting, for a second, after running something.
    def done():
        s = state()
        if s['kernel'] != 'idle' or s['busy_prompts'] or not any(c is not None for c in s['counts']): return None
        time.sleep(1.0)
        s2 = state()
        return s2 if s2['kernel'] == 'idle' and not s2['busy_prompts'] and s2['counts'] == s['counts'] else None
    st = _wait(done, timeout, f'{rel}: the cells did not finish running', every=0.5)
    print(f"     ran {n_code} code cells with {how} in {time.time()-t0:.1f}s (kernel {st['kernel_name']})")
    saved_code = [c for c in saved.cells if c.cell_type == 'code']
    for i, (count, n_out, n_img, errs) in enumerate(zip(st['counts'], st['n_outputs'], st['images'], st['errors'])):
        src = saved_code[i].source.strip().splitlines()[0][:60] if i < len(saved_code) and saved_code[i].source.strip() else ''
        if count is None: probs.append(f"code cell {i+1} did not run: {src!r}")
        bad = [e for e in errs if not e.startswith('stderr: ') or ERROR_TEXT.search(e)]
        if bad: probs.append(f"code cell {i+1} {src!r} shows an error: {bad[0].strip()[:300]}")
        if i < len(saved_code) and saved_code[i].get('outputs') and not n_out:
            probs.append(f"code cell {i+1} {src!r} has outputs in the file but showed none")
        saved_imgs = sum(any(k.startswith('image/') for k in o.get('data', {})) for o in saved_code[i].get('outputs', [])) if i < len(saved_code) else 0
        if saved_imgs and not n_img: probs.append(f"code cell {i+1} {src!r} has a figure in the file but drew none")
    shown = driver.find_elements(By.CSS_SELECTOR, '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output')
    if sum(st['n_outputs']) and not any(e.is_displayed() for e in shown): probs.append('no output is visible on screen')
    print(f"     screenshot: {_screenshot(driver, shot, full=False).relative_to(ROOT)}")
    return probs


def check_lab(notebooks:list, shots:Path, timeout:float) -> int:
    "Run each notebook in JupyterLab in Chromium; the number of notebooks with problems."
    nbs = ROOT/'nbs'
    bad = 0
    with tempfile.TemporaryDirectory(prefix='lab-check-') as tmp:
        tmp = Path(tmp)
        root = tmp/'repo'
        # A copy of the project (so no autosave, checkpoint or nbdev_export can touch the repository):
        # the notebooks, settings.ini and the package, which a notebook's last cell exports to.
        skip = shutil.ignore_patterns('.*', '_proc', '__pycache__')
        shutil.copytree(nbs, root/'nbs', ignore=skip)
        for f in ['settings.ini', 'pyproject.toml', 'setup.py']:
            if (ROOT/f).exists(): shutil.copy2(ROOT/f, root/f)
        lib = ROOT/_lib_name()
        if lib.is_dir(): shutil.copytree(lib, root/lib.name, ignore=skip)
        t0 = time.time()
        with JupyterLab(root, tmp) as lab:
            print(f"jupyter lab up on 127.0.0.1:{lab.port} in {time.time()-t0:.1f}s")
            driver = chromium(tmp/'profile', 1400, 1000)
            try:
                for nb in notebooks:
                    rel = Path(nb).resolve().relative_to(ROOT).as_posix()
                    if not (root/rel).exists(): sys.exit(f"{nb}: no such notebook under nbs/")
                    print(f"---- {rel}")
                    t1 = time.time()
                    try: probs = run_in_lab(driver, lab, rel, nbformat.read(root/rel, as_version=4),
                                            shots/f"lab-{Path(rel).stem}.png", timeout)
                    except CheckFailed as e:
                        probs = [str(e)]
                        try: _screenshot(driver, shots/f"lab-{Path(rel).stem}.png", full=False)
                        except Exception: pass
                    bad += bool(probs)
                    print(f"{'FAIL' if probs else 'ok  '} {rel} in JupyterLab ({time.time()-t1:.1f}s)")
                    for p in probs: print(f"       - {p}")
            finally:
                driver.quit()
    print(f"jupyterlab: {len(notebooks)-bad} passed, {bad} failed")
    return bad


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('what', choices=['docs', 'lab', 'all'], help='which check to run')
    p.add_argument('--preview', default=str(ROOT/'_preview'), help='the preview folder that tools/docs_preview.py built')
    p.add_argument('--notebook', action='append', help='notebook to run in lab (repeatable; default nbs/index.ipynb)')
    p.add_argument('--timeout', type=float, default=300, help='seconds a notebook may take to run in lab')
    p.add_argument('--screenshots', default=str(SHOTS), help='folder for the screenshots')
    p.add_argument('--all-screenshots', action='store_true', help='keep a screenshot of every docs page, not just the home page')
    args = p.parse_args()
    os.environ.setdefault('SE_AVOID_STATS', 'true')  # Selenium: no telemetry
    shots, bad = Path(args.screenshots).resolve(), 0
    if args.what in ('docs', 'all'): bad += check_docs(Path(args.preview).resolve(), shots, args.all_screenshots)
    if args.what in ('lab', 'all'): bad += check_lab(args.notebook or [str(ROOT/'nbs'/'index.ipynb')], shots, args.timeout)
    sys.exit(1 if bad else 0)


if __name__ == '__main__': main()
