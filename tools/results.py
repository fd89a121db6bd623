"""Measure the shipped models, and Tesseract where it is installed, on held-out pages; write results/.

The pages are Python's own documentation (`pydoc_data.topics` of the Python that runs this script)
rendered at the default `PageLayout()`: text the models never saw in training, at the layout they
were trained on. Every shipped model reads them on the CPU, in batches of 64, with torch's default
number of threads. Tesseract 5 (the `tesseract` binary and the `pytesseract` package) reads the
same pages after the preprocessing that scores best on a small sweep; without it, its row is
skipped with a message.

    python tools/results.py                       # 500 pages, writes results/results.json and results/results.md
    python tools/results.py --pages 100 --out /tmp/results
"""
import argparse, json, os, platform, shutil, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from PIL import Image, ImageOps

from imagetextslot.dataset import PageLayout, make_dataset
from imagetextslot.evaluation import cer, evaluate, exact_match, ned, wer
from imagetextslot.inference import PRETRAINED, load_pretrained, pretrained_info

SOURCE = 'python-docs'
COLUMNS = ['preset', 'parameters', 'characters per page', 'training time and hardware', 'CER', '1-NED',
           'exact match', 'counter MAE', 'pages/s on this CPU']
# The Tesseract sweep: upscale factor, inversion to dark-on-light, page segmentation mode, and how its lines are joined
# ('' suits char wrapping, where rows break inside words; ' ' suits word wrapping).
SWEEP = [dict(scale=s, invert=i, psm=p) for s in (3, 4) for i in (True, False) for p in (6, 4)]
JOINS = ('', ' ')


def cpu_name() -> str:
    "The CPU model as the OS reports it."
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'): return line.split(':', 1)[1].strip()
    except OSError: pass
    return platform.processor() or platform.machine()


def held_out_pages(n:int, seed:int):
    "`n` pages drawn at random (by `seed`) from every page the source makes at the default layout, and that total."
    dsd = make_dataset(SOURCE, n_pages=None, val_fraction=0, seed=seed, progress=False) # every page, shuffled by `seed`
    pages = dsd['train'] # the only split: all of it is held out, as the models never saw this source
    if n > len(pages): print(f"the source makes only {len(pages)} pages at the default layout: using all of them")
    return pages.select(range(min(n, len(pages)))), len(pages)


def model_row(name:str, pages, batch_size:int) -> dict:
    "Evaluate a shipped model on the CPU; its table row and its full metrics."
    model = load_pretrained(name, device='cpu')
    info = pretrained_info(name)
    evaluate(model, pages, device='cpu', batch_size=batch_size, max_pages=8, progress=False) # warm-up, not timed
    res = evaluate(model, pages, device='cpu', batch_size=batch_size, progress=False)
    m = res.metrics
    return dict(preset=name, parameters=sum(p.numel() for p in model.parameters()),
                train_step_seconds=info['train_step_seconds'], hardware=info['hardware'],
                cer=m['cer'], ned=m['ned'], wer=m['wer'], exact_match=m['exact_match'], count_mae=m['count_mae'],
                length_exact=m['length_exact'], pages_per_s=m['pages_per_s'])


def tesseract_available() -> str | None:
    "Why Tesseract cannot run here, or None when it can."
    if shutil.which('tesseract') is None: return "the `tesseract` binary is not on PATH (apt-get install -y tesseract-ocr tesseract-ocr-eng)"
    try: import pytesseract
    except ImportError: return "the `pytesseract` package is not installed (pip install pytesseract)"
    try: pytesseract.get_tesseract_version()
    except Exception as e: return f"`tesseract` does not run: {e}"
    return None


def prepare(img:Image.Image, scale:int, invert:bool) -> Image.Image:
    "A page as Tesseract reads it best: grayscale, optionally dark-on-light, upscaled with LANCZOS."
    x = img.convert('L')
    if invert: x = ImageOps.invert(x)
    return x.resize((x.width * scale, x.height * scale), Image.Resampling.LANCZOS)


def ocr(images, scale:int, invert:bool, psm:int, workers:int) -> tuple[list[str], float]:
    "Tesseract's raw text for each page, and the seconds it took, preprocessing included."
    import pytesseract
    def one(img): return pytesseract.image_to_string(prepare(img, scale, invert), lang='eng', config=f'--psm {psm}')
    t0 = time.perf_counter()
    with ThreadPoolExecutor(workers) as ex: out = list(ex.map(one, images)) # each thread waits on one tesseract process
    return out, time.perf_counter() - t0


def join_lines(raw:str, sep:str) -> str:
    "Tesseract's lines, stripped, blank ones dropped, joined by `sep`: one line of text like the labels."
    return sep.join(l.strip() for l in raw.splitlines() if l.strip())


def tesseract_row(pages, sweep_pages:int, workers:int) -> dict:
    "Sweep the preprocessing on the first `sweep_pages` pages, then read every page with the best setting."
    import pytesseract
    os.environ['OMP_THREAD_LIMIT'] = '1' # one thread per tesseract process; `workers` processes share the cores
    imgs, refs = list(pages['pixel_values']), list(pages['text'])
    k = min(sweep_pages, len(imgs))
    sweep = []
    for cfg in SWEEP:
        raw, _ = ocr(imgs[:k], workers=workers, **cfg)
        for sep in JOINS:
            preds = [join_lines(r, sep) for r in raw]
            sweep.append(dict(cfg, join=sep, pages=k, cer=cer(preds, refs[:k]), exact_match=exact_match(preds, refs[:k])))
            print(f"  sweep: scale {cfg['scale']}x, invert {cfg['invert']!s:5}, --psm {cfg['psm']}, join {sep!r:4}: CER {sweep[-1]['cer']:.4f}")
    best = min(sweep, key=lambda r: r['cer'])
    cfg = {c: best[c] for c in ('scale', 'invert', 'psm')}
    raw, seconds = ocr(imgs, workers=workers, **cfg)
    preds = [join_lines(r, best['join']) for r in raw]
    return dict(preset=f"Tesseract {pytesseract.get_tesseract_version()}", parameters=None, train_step_seconds=None, hardware=None,
                cer=cer(preds, refs), ned=ned(preds, refs), wer=wer(preds, refs), exact_match=exact_match(preds, refs),
                count_mae=None, length_exact=None, pages_per_s=len(imgs) / seconds,
                setting=dict(cfg, join=best['join'], lang='eng', resample='LANCZOS', workers=workers, omp_thread_limit=1),
                sweep=sweep)


def cells(r:dict, chars:float) -> list[str]:
    "A row of the Markdown table."
    hw = r['hardware'].split(' (')[0] if r['hardware'] else None
    dash = '-'
    return [r['preset'], f"{r['parameters']:,}" if r['parameters'] else dash, f"{chars:.1f}",
            f"{r['train_step_seconds']:.1f} s, {hw}" if r['train_step_seconds'] else dash,
            f"{100 * r['cer']:.2f}%", f"{r['ned']:.4f}", f"{100 * r['exact_match']:.1f}%",
            f"{r['count_mae']:.2f}" if r['count_mae'] is not None else dash, f"{r['pages_per_s']:.1f}"]


def markdown_table(header:list[str], rows:list[list[str]]) -> str:
    "A GitHub-flavoured Markdown table."
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '|'.join('---' for _ in header) + '|']
    return '\n'.join(lines + ['| ' + ' | '.join(r) + ' |' for r in rows])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog='\n\n'.join(__doc__.split('\n\n')[1:]))
    p.add_argument('--pages', type=int, default=500, help='held-out pages to read (default: 500)')
    p.add_argument('--out', default='results', help='folder for results.json and results.md (default: results)')
    p.add_argument('--seed', type=int, default=0, help='which pages are drawn (default: 0)')
    p.add_argument('--batch_size', type=int, default=64, help='pages per forward pass of the models (default: 64)')
    p.add_argument('--sweep_pages', type=int, default=50, help='pages of the Tesseract preprocessing sweep (default: 50)')
    p.add_argument('--no_tesseract', action='store_true', help='skip Tesseract even where it is installed')
    a = p.parse_args(argv)
    if a.pages < 1: p.error('--pages must be at least 1')

    threads = torch.get_num_threads()
    pages, total = held_out_pages(a.pages, a.seed)
    chars = sum(len(t) for t in pages['text']) / len(pages)
    layout = PageLayout()
    source = (f"{SOURCE}: Python's own documentation (pydoc_data.topics of Python {platform.python_version()}), "
              f"{len(pages)} of the {total} pages it makes at the default layout, drawn with seed {a.seed}; never seen in training")
    print(f"pages: {source}")
    print(f"layout: {layout.font} {layout.font_size} px, {layout.cols} x {layout.rows} cells, {layout.wrap} wrapping")
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores visible, torch {torch.__version__} with {threads} threads")

    rows = []
    for name in PRETRAINED:
        print(f"evaluating {name} ...")
        rows.append(model_row(name, pages, a.batch_size))
    skipped = 'skipped with --no_tesseract' if a.no_tesseract else tesseract_available()
    if skipped: print(f"Tesseract: {skipped}; its row is left out")
    else:
        print(f"Tesseract: sweeping the preprocessing on {min(a.sweep_pages, len(pages))} pages ...")
        rows.append(tesseract_row(pages, a.sweep_pages, workers=threads))

    table = markdown_table(COLUMNS, [cells(r, chars) for r in rows])
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    record = dict(command=' '.join(['python', 'tools/results.py'] + (sys.argv[1:] if argv is None else list(argv))),
                  source=source, pages=len(pages), pages_in_source=total, seed=a.seed, chars_per_page=chars,
                  layout=layout.to_dict(), python=platform.python_version(), torch=torch.__version__,
                  cpu=cpu_name(), cpu_count=os.cpu_count(), torch_threads=threads, batch_size=a.batch_size,
                  tesseract_skipped=skipped, rows=rows)
    (out/'results.json').write_text(json.dumps(record, indent=1, ensure_ascii=False) + '\n')

    notes = [f"Pages: {source}. Layout: {layout.font} {layout.font_size} px, {layout.cols} x {layout.rows} cells "
             f"({layout.capacity} characters), {layout.wrap} wrapping, the layout the models were trained on.",
             f"Speed: on {cpu_name()} ({os.cpu_count()} cores visible, shared with other work), torch {torch.__version__} "
             f"with {threads} threads, batches of {a.batch_size}; pages/s counts the forward passes and decoding.",
             "Training time: `train_step_seconds` of `imagetextslot/weights/<preset>/training.json`, the optimizer steps' wall time; "
             + '; '.join(f"{', '.join(r['preset'] for r in rows if r['hardware'] == hw)}: {hw}"
                        for hw in dict.fromkeys(r['hardware'] for r in rows if r['hardware'])) + '.',
             "CER: edits / reference characters over all pages; 1-NED: mean over pages of 1 - edits / max length; "
             "exact match: pages read without an error; counter MAE: mean |predicted - true| token count."]
    t = next((r for r in rows if 'setting' in r), None)
    if t:
        s = t['setting']
        notes.append(f"{t['preset']} (`lang='eng'`): upscaled {s['scale']}x with LANCZOS, {'inverted to dark-on-light' if s['invert'] else 'not inverted'}, "
                     f"`--psm {s['psm']}`, lines joined with {s['join']!r}: the best CER of the sweep below on the first "
                     f"{t['sweep'][0]['pages']} pages. It has no parameters to train and no counter. Speed: {s['workers']} tesseract "
                     f"processes at a time, one thread each (`OMP_THREAD_LIMIT=1`), on the same cores, preprocessing included.")
        sweep = markdown_table(['scale', 'inverted', '--psm', 'join', 'CER', 'exact match'],
                               [[f"{r['scale']}x", str(r['invert']), str(r['psm']), repr(r['join']), f"{100 * r['cer']:.2f}%",
                                 f"{100 * r['exact_match']:.1f}%"] for r in t['sweep']])
    else: notes.append(f"Tesseract: {skipped}; its row is left out.")
    md = ['# Results on held-out pages', '', table, ''] + [f"- {n}" for n in notes]
    if t: md += ['', f"## Tesseract preprocessing sweep ({t['sweep'][0]['pages']} pages)", '', sweep]
    md += ['', f"Made with `{record['command']}`."]
    (out/'results.md').write_text('\n'.join(md) + '\n')
    print(); print(table); print(); print(f"wrote {out/'results.json'} and {out/'results.md'}")
    return 0


if __name__ == '__main__': sys.exit(main())
