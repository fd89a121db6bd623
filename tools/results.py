"""Measure the shipped models, Tesseract and RapidOCR on the same held-out pages, in one run; write results/.

The pages are the held-out sets of `tools/heldout.py` (run it first: `python tools/heldout.py`), read from --heldout:

  python-docs  Python's own documentation (`pydoc_data.topics`), almost all English and ASCII;
  manpages     Debian's translated manual pages in Italian, German, French and Spanish;
  manpages-pl  Debian's Polish manual pages: letters beyond Latin-1, and a set that played no part in choosing the
               training text (the other two did: their confusions showed what the synthetic text lacked).

Each set is split into ASCII pages and pages with multi-byte characters (UTF-8), and every row is reported on the
whole set and on each part. The sets are rendered at the default `PageLayout()`, the layout the models were trained
on, from text they never saw in training.

Readers, each on the same pages and on the same CPU cores:

  the shipped models   every name in `PRETRAINED`, on the CPU in batches of --batch_size with torch's default threads;
                       the clean pages are scored with `evaluate`, the altered pages (below) with `read_text`, which
                       normalises an image as it does for a user (polarity, contrast, grid alignment);
  Tesseract 5          the `tesseract` binary and `pytesseract`, with the language packs of each page's language
                       (`eng` for python-docs; `ita+eng`, `deu+eng`, `fra+eng`, `spa+eng`, `pol+eng` for the manual pages) and
                       the preprocessing that scores best on a sweep over the first --sweep_pages pages;
  RapidOCR             `rapidocr-onnxruntime`, whose wheel ships the PP-OCRv4 models (it runs offline), with the
                       preprocessing that scores best on the same kind of sweep.

A reader that is not installed is skipped with a one-line message. Besides the clean pages, every reader reads four
altered copies of them: shifted by up to 3 pixels (a random offset per page, fixed by --seed), on a grey background
(background 60, ink 200), saved as JPEG at quality 75, both (grey, then JPEG), and binarised at 128. For the models, the density curve is the
CER on the same pages cut to their first 50, 100, 200 and 300 characters and rendered again, beside the full pages.

    python tools/results.py                        # every held-out page, writes results/results.json and results/results.md
    python tools/results.py --pages 20 --out /tmp/results --sweep_pages 10
"""
import argparse, io, json, os, platform, random, shutil, statistics, sys, time, warnings
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

import datasets
from imagetextslot.dataset import PageLayout, render_page, visible_label
from imagetextslot.evaluation import cer, evaluate, exact_match, ned
from imagetextslot.inference import PRETRAINED, load_pretrained, pretrained_info, read_pages, read_text, shift_page

SETS = ('python-docs', 'manpages', 'manpages-pl')
SET_NAMES = {'python-docs': "Python's documentation", 'manpages': "Debian's translated manual pages (it, de, fr, es)",
             'manpages-pl': "Debian's Polish manual pages"}
PARTS = {'all': 'all pages', 'ascii': 'ASCII pages', 'multibyte': 'multi-byte pages'}
ALTERED = {'shifted': 'shifted up to 3 px', 'grey': 'grey background', 'jpeg': 'JPEG q75', 'grey jpeg': 'grey, then JPEG q75', 'binarised': 'binarised'}
CUTS = (50, 100, 200, 300) # characters kept for the density curve, beside the full pages
MAX_SHIFT, GREY_BACKGROUND, GREY_INK, JPEG_QUALITY, THRESHOLD = 3, 60, 200, 75, 128
# Tesseract's language packs for each page's `lang`: the page's language first, English for the code and names in it.
TESSERACT_LANGS = {'en': 'eng', 'it': 'ita+eng', 'de': 'deu+eng', 'fr': 'fra+eng', 'es': 'spa+eng', 'pl': 'pol+eng'}
# The preprocessing sweeps: upscale factor, inversion to dark-on-light, Tesseract's page segmentation mode, and how the
# lines are joined ('' suits char wrapping, where rows break inside words; ' ' suits word wrapping).
TESSERACT_SWEEP = [dict(scale=s, invert=i, psm=p) for s in (3, 4) for i in (True, False) for p in (6, 4)]
RAPIDOCR_SWEEP = [dict(scale=s, invert=i) for s in (2, 3, 4) for i in (False, True)]
JOINS = ('', ' ')


def cpu_name() -> str:
    "The CPU model as the OS reports it."
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'): return line.split(':', 1)[1].strip()
    except OSError: pass
    return platform.processor() or platform.machine()


def load_set(folder:Path, n:int|None, seed:int) -> datasets.Dataset:
    "A held-out set saved by tools/heldout.py: `n` of its pages (default all), ASCII and multi-byte in the set's proportion, in an order shuffled by `seed`."
    dsd = datasets.load_from_disk(str(folder))
    parts = [dsd[s] for s in ('ascii', 'multibyte') if s in dsd and len(dsd[s])]
    total = sum(len(p) for p in parts)
    if n is not None and n < total:
        ks = [round(n * len(p) / total) for p in parts]
        if len(parts) == 2 and n >= 2: ks[0] = min(max(ks[0], 1), n - 1) # at least one page of each part
        ks[-1] = n - sum(ks[:-1])
        parts = [p.select(range(k)) for p, k in zip(parts, ks)]
    ds = datasets.concatenate_datasets(parts)
    return ds.select(random.Random(f"results:{seed}").sample(range(len(ds)), len(ds)))


def altered_pages(pages:list[Image.Image], seed:int) -> dict[str, list[Image.Image]]:
    "The pages as each robustness column reads them: shifted, on grey, through JPEG, on grey then through JPEG, binarised (white ink on black in, as stored)."
    rng = random.Random(f"shift:{seed}")
    shifts = [(rng.randint(-MAX_SHIFT, MAX_SHIFT), rng.randint(-MAX_SHIFT, MAX_SHIFT)) for _ in pages]
    grey_lut = [round(GREY_BACKGROUND + (GREY_INK - GREY_BACKGROUND) * v / 255) for v in range(256)]
    def jpeg(img):
        buf = io.BytesIO(); img.save(buf, format='JPEG', quality=JPEG_QUALITY)
        return Image.open(io.BytesIO(buf.getvalue())).convert('L')
    pages = [p.convert('L') for p in pages]
    return {'shifted': [shift_page(p, dx, dy) for p, (dx, dy) in zip(pages, shifts)],
            'grey': [p.point(grey_lut) for p in pages],
            'jpeg': [jpeg(p) for p in pages],
            'grey jpeg': [jpeg(p.point(grey_lut)) for p in pages],
            'binarised': [p.point(lambda v: 255 if v >= THRESHOLD else 0) for p in pages]}


def scores(preds:list[str], refs:list[str]) -> dict:
    "CER, 1-NED and exact match on all pages, the ASCII pages and the multi-byte pages (a part with no pages: None)."
    out = {}
    for part in PARTS:
        idx = [i for i, r in enumerate(refs) if part == 'all' or (part == 'ascii') == r.isascii()]
        if not idx: out[part] = None; continue
        p, r = [preds[i] for i in idx], [refs[i] for i in idx]
        out[part] = dict(pages=len(idx), chars=sum(map(len, r)), cer=cer(p, r), ned=ned(p, r), exact_match=exact_match(p, r))
    return out


def cut_pages(pages:datasets.Dataset, n:int) -> datasets.Dataset:
    "The pages' labels cut to their first `n` characters (without the spaces that would end them: `visible_label`), rendered again."
    labels = [visible_label(t[:n]) for t in pages['text']]
    feats = datasets.Features({'pixel_values': datasets.Image(), 'text': datasets.Value('string')})
    return datasets.Dataset.from_dict({'pixel_values': [render_page(t) for t in labels], 'text': labels}, features=feats)


def model_row(name:str, sets:dict, altered:dict, batch_size:int, density:bool) -> dict:
    "A shipped model on the CPU: clean pages with `evaluate`, altered pages with `read_text`, the density curve, and the speed of `read_pages` (fp32 and bf16)."
    info = pretrained_info(name)
    model = load_pretrained(name, device='cpu')
    first = next(iter(sets.values()))
    evaluate(model, first, device='cpu', batch_size=batch_size, max_pages=8, progress=False) # warm-up, not timed
    row = dict(system=name, kind='model', parameters=sum(p.numel() for p in model.parameters()),
               train_step_seconds=info.get('train_step_seconds'), hardware=info.get('hardware'),
               checkpoint=info.get('checkpoint'), pages_seen=info.get('pages_seen'), notes=info.get('notes'), sets={})
    for s, ds in sets.items():
        res = evaluate(model, ds, device='cpu', batch_size=batch_size, progress=False)
        t = res.table
        r = dict(clean=scores(list(t['prediction']), list(t['reference'])),
                 count_mae=float((t['count_pred'] - t['count_true']).abs().mean()), length_exact=res.metrics['length_exact'])
        refs = list(ds['text'])
        with warnings.catch_warnings():
            warnings.simplefilter('ignore') # read_text warns about doubtful pages; the scores say it
            r['read_text'] = scores(read_text(list(ds['pixel_values']), model=model, batch_size=batch_size, device='cpu'), refs)
            r['altered'] = {k: scores(read_text(imgs, model=model, batch_size=batch_size, device='cpu'), refs) for k, imgs in altered[s].items()}
        if density:
            r['density'] = []
            for n in CUTS:
                cut = cut_pages(ds, n)
                m = evaluate(model, cut, device='cpu', batch_size=batch_size, progress=False).metrics
                r['density'].append(dict(cut=n, chars=sum(map(len, cut['text'])) / len(cut), cer=m['cer'], exact_match=m['exact_match']))
            r['density'].append(dict(cut=None, chars=sum(map(len, refs)) / len(refs), cer=r['clean']['all']['cer'],
                                     exact_match=r['clean']['all']['exact_match']))
        row['sets'][s] = r
        print(f"  {s}: CER {100 * r['clean']['all']['cer']:.2f}%, exact {100 * r['clean']['all']['exact_match']:.1f}%")
    row['bf16'] = bf16_speed(model, sets, batch_size)
    row['pages_per_s'] = row['bf16']['fp32_pages_per_s'] # what a user's read_pages gets, as the peers are timed: on decoded pages
    for s, b in row['bf16']['sets'].items(): row['sets'][s]['bf16'] = b
    return row


def bf16_speed(model, sets:dict, batch_size:int, rounds:int=3) -> dict:
    "`read_pages` in fp32 and under bf16 autocast on the decoded pages of every set, taking turns `rounds` times: the median round's pages/s of each, and the bf16 readings' scores."
    times, out = {'fp32': [], 'bf16': []}, {}
    images = {s: list(ds['pixel_values']) for s, ds in sets.items()} # decoded before the clock starts, as for the peers
    for _ in range(rounds):
        for k in times:
            t0, n = time.perf_counter(), 0
            for s, ds in sets.items():
                res = read_pages(images[s], model, batch_size, bf16=k == 'bf16'); n += len(ds)
                out.setdefault(s, {})[k] = scores([r['text'] for r in res], list(ds['text']))
            times[k].append(n / (time.perf_counter() - t0))
    return {'fp32_pages_per_s': statistics.median(times['fp32']), 'bf16_pages_per_s': statistics.median(times['bf16']), 'sets': out}


# ---- Tesseract

def tesseract_missing() -> str|None:
    "Why Tesseract cannot run here, or None when it can."
    if shutil.which('tesseract') is None: return "the `tesseract` binary is not on PATH (apt-get install -y tesseract-ocr tesseract-ocr-eng)"
    try: import pytesseract
    except ImportError: return "the `pytesseract` package is not installed (pip install pytesseract)"
    try: pytesseract.get_tesseract_version()
    except Exception as e: return f"`tesseract` does not run: {e}"
    return None


def tesseract_langs(needed) -> tuple[dict, list[str]]:
    "The `-l` argument for each page language, from the packs installed, and the packs that are missing."
    import pytesseract
    have = set(pytesseract.get_languages())
    langs, missing = {}, []
    for l in needed:
        want = TESSERACT_LANGS.get(l, 'eng').split('+')
        missing += [w for w in want if w not in have and w not in missing]
        langs[l] = '+'.join(w for w in want if w in have) or None
    return langs, missing


def upscale(img:Image.Image, scale:int, invert:bool) -> Image.Image:
    "A page as the peers read it best: grayscale, optionally dark-on-light, upscaled with LANCZOS."
    x = img.convert('L')
    if invert: x = ImageOps.invert(x)
    return x.resize((x.width * scale, x.height * scale), Image.Resampling.LANCZOS)


def join_lines(lines, sep:str) -> str:
    "Lines stripped, blank ones dropped, joined by `sep`: one line of text like the labels."
    return sep.join(l.strip() for l in lines if l.strip())


def tesseract_reader(langs:dict, workers:int):
    "A function reading pages with Tesseract at a setting: (images, page languages, scale, invert, psm) -> (lines of each page, seconds)."
    import pytesseract
    os.environ['OMP_THREAD_LIMIT'] = '1' # one thread per tesseract process; `workers` processes share the cores
    def read(images, page_langs, scale:int, invert:bool, psm:int):
        def one(a):
            img, l = a
            return pytesseract.image_to_string(upscale(img, scale, invert), lang=langs[l], config=f'--psm {psm}').splitlines()
        t0 = time.perf_counter()
        with ThreadPoolExecutor(workers) as ex: out = list(ex.map(one, zip(images, page_langs))) # each thread waits on one process
        return out, time.perf_counter() - t0
    return read


# ---- RapidOCR

def rapidocr_missing() -> str|None:
    "Why RapidOCR cannot run here, or None when it can."
    try: import rapidocr_onnxruntime # noqa: F401
    except ImportError: return "the `rapidocr-onnxruntime` package is not installed (pip install rapidocr-onnxruntime)"
    except Exception as e: return f"`rapidocr_onnxruntime` does not import: {e}"
    return None


def box_lines(res) -> list[str]:
    "RapidOCR's boxes as lines of text: boxes whose tops lie within half a box height joined left to right with spaces."
    boxes = sorted((min(p[1] for p in b), max(p[1] for p in b), min(p[0] for p in b), t) for b, t, _ in (res or []))
    lines = []
    for y0, y1, x0, t in boxes:
        if lines and y0 < lines[-1][0] + 0.5 * (lines[-1][1] - lines[-1][0]): lines[-1][2].append((x0, t))
        else: lines.append([y0, y1, [(x0, t)]])
    return [' '.join(t for _, t in sorted(l[2])) for l in lines]


def rapidocr_reader(threads:int):
    "A function reading pages with RapidOCR at a setting: (images, page languages, scale, invert) -> (lines of each page, seconds)."
    from rapidocr_onnxruntime import RapidOCR
    engine = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1, use_cls=False) # pages are upright: no angle classifier
    def read(images, page_langs, scale:int, invert:bool):
        t0 = time.perf_counter()
        out = [box_lines(engine(np.asarray(upscale(img, scale, invert).convert('RGB')))[0]) for img in images]
        return out, time.perf_counter() - t0
    return read


def peer_row(name:str, read, sweep_cfgs:list[dict], sets:dict, altered:dict|None, sweep_pages:int, setting:dict) -> dict:
    "Sweep a peer's preprocessing on the first pages of every set, then read every page, clean and altered, with the best."
    k = -(-sweep_pages // len(sets)) # pages of each set in the sweep
    imgs = [im for ds in sets.values() for im in list(ds['pixel_values'])[:k]]
    langs = [l for ds in sets.values() for l in list(ds['lang'])[:k]]
    refs = [t for ds in sets.values() for t in list(ds['text'])[:k]]
    sweep = []
    for cfg in sweep_cfgs:
        raw, _ = read(imgs, langs, **cfg)
        for sep in JOINS:
            preds = [join_lines(r, sep) for r in raw]
            sweep.append(dict(cfg, join=sep, pages=len(imgs), cer=cer(preds, refs), exact_match=exact_match(preds, refs)))
            print(f"  sweep: {', '.join(f'{k} {v}' for k, v in cfg.items())}, join {sep!r}: CER {100 * sweep[-1]['cer']:.2f}%")
    best = min(sweep, key=lambda r: r['cer'])
    cfg = {c: best[c] for c in sweep_cfgs[0]}
    row = dict(system=name, kind='peer', parameters=None, train_step_seconds=None, hardware=None,
               setting=dict(cfg, join=best['join'], resample='LANCZOS', **setting), sweep=sweep, sets={})
    pages = seconds = 0
    for s, ds in sets.items():
        page_langs, refs = list(ds['lang']), list(ds['text'])
        raw, t = read(list(ds['pixel_values']), page_langs, **cfg)
        pages += len(ds); seconds += t
        r = dict(clean=scores([join_lines(x, best['join']) for x in raw], refs), count_mae=None, length_exact=None)
        if altered is not None:
            r['altered'] = {a: scores([join_lines(x, best['join']) for x in read(imgs_a, page_langs, **cfg)[0]], refs)
                            for a, imgs_a in altered[s].items()}
        row['sets'][s] = r
        print(f"  {s}: CER {100 * r['clean']['all']['cer']:.2f}%, exact {100 * r['clean']['all']['exact_match']:.1f}%")
    row['pages_per_s'] = pages / seconds
    return row


# ---- the report

def markdown_table(header:list[str], rows:list[list[str]]) -> str:
    "A GitHub-flavoured Markdown table."
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '|'.join('---' for _ in header) + '|']
    return '\n'.join(lines + ['| ' + ' | '.join(r) + ' |' for r in rows])


def pct(x, digits:int=2) -> str: return '-' if x is None else f"{100 * x:.{digits}f}%"


def part(r:dict, p:str, key:str):
    "One metric of one part of a scores dict, None where the part has no pages."
    return None if r is None or r.get(p) is None else r[p][key]


def systems_table(rows:list[dict]) -> str:
    "Parameters, training and speed of every reader."
    tess = next((r['pages_per_s'] for r in rows if r['system'].startswith('Tesseract')), None)
    out = []
    for r in rows:
        hw = r['hardware'].split(' (')[0] if r['hardware'] else None
        out.append([r['system'], f"{r['parameters']:,}" if r['parameters'] else '-',
                    f"{r['train_step_seconds']:.1f} s, {hw}" if r['train_step_seconds'] else '-',
                    f"{r['pages_per_s']:.1f}", f"{r['pages_per_s'] / tess:.1f}x" if tess else '-',
                    f"{r['bf16']['bf16_pages_per_s']:.1f} ({r['bf16']['bf16_pages_per_s'] / r['bf16']['fp32_pages_per_s']:.2f}x fp32's)" if r.get('bf16') else '-',
                    f"{r['pages_per_s'] * r['bf16']['bf16_pages_per_s'] / r['bf16']['fp32_pages_per_s'] / tess:.1f}x" if r.get('bf16') and tess else '-'])
    return markdown_table(['reader', 'parameters', 'training time and hardware', 'pages/s on this CPU', "vs Tesseract's pages/s",
                           'read_pages with bf16 autocast, pages/s', 'bf16 vs Tesseract'], out)


def set_table(rows:list[dict], s:str) -> str:
    "CER and exact match of every reader on one set, on all pages and on each part."
    out = []
    for r in rows:
        c = r['sets'][s]['clean']
        out.append([r['system']] + [pct(part(c, p, 'cer')) for p in PARTS] + [pct(part(c, p, 'exact_match'), 1) for p in PARTS]
                   + [f"{c['all']['ned']:.4f}", f"{r['sets'][s]['count_mae']:.2f}" if r['sets'][s]['count_mae'] is not None else '-'])
    return markdown_table(['reader', 'CER', 'CER, ASCII', 'CER, multi-byte', 'exact match', 'exact, ASCII', 'exact, multi-byte',
                           '1-NED', 'counter MAE'], out)


def robustness_table(rows:list[dict]) -> str:
    "CER on all pages of each set, clean and altered."
    out = []
    for r in rows:
        for s, v in r['sets'].items():
            if 'altered' not in v: continue
            base = v.get('read_text', v['clean'])
            out.append([r['system'], s, pct(part(base, 'all', 'cer'))] + [pct(part(v['altered'][a], 'all', 'cer')) for a in ALTERED])
    return markdown_table(['reader', 'set', 'clean'] + list(ALTERED.values()), out)


def density_table(rows:list[dict]) -> str:
    "CER at each cut of the pages, and on the full pages."
    out = []
    for r in rows:
        for s, v in r['sets'].items():
            if 'density' in v:
                out.append([r['system'], s] + [pct(d['cer']) for d in v['density']] + [f"{v['density'][-1]['chars']:.0f}"])
    return markdown_table(['model', 'set'] + [f"{n} chars" for n in CUTS] + ['full page', 'characters on a full page'], out)


def sweep_table(t:dict) -> str:
    "A peer's preprocessing sweep."
    keys = [k for k in t['sweep'][0] if k not in ('join', 'pages', 'cer', 'exact_match')]
    return markdown_table(keys + ['join', 'CER', 'exact match'],
                          [[str(r[k]) for k in keys] + [repr(r['join']), pct(r['cer']), pct(r['exact_match'], 1)] for r in t['sweep']])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog='\n\n'.join(__doc__.split('\n\n')[1:]))
    p.add_argument('--heldout', default='data/heldout', help='folder of the held-out sets written by tools/heldout.py (default: data/heldout)')
    p.add_argument('--sets', nargs='+', choices=SETS, default=list(SETS), help='the sets to read (default: all)')
    p.add_argument('--pages', type=int, default=None, help='pages of each set to read (default: all of them)')
    p.add_argument('--out', default='results', help='folder for results.json and results.md (default: results)')
    p.add_argument('--seed', type=int, default=0, help='the page order and the shifts (default: 0)')
    p.add_argument('--batch_size', type=int, default=64, help='pages per forward pass of the models (default: 64)')
    p.add_argument('--sweep_pages', type=int, default=50, help="pages of the peers' preprocessing sweeps, shared among the sets (default: 50)")
    p.add_argument('--no_tesseract', action='store_true', help='skip Tesseract even where it is installed')
    p.add_argument('--no_rapidocr', action='store_true', help='skip RapidOCR even where it is installed')
    p.add_argument('--no_peer_robustness', action='store_true', help='read only the clean pages with Tesseract and RapidOCR')
    p.add_argument('--no_density', action='store_true', help='skip the density curve')
    a = p.parse_args(argv)
    if a.pages is not None and a.pages < 1: p.error('--pages must be at least 1')
    if a.sweep_pages < 1: p.error('--sweep_pages must be at least 1')

    datasets.disable_progress_bars()
    heldout = Path(a.heldout)
    missing = [s for s in a.sets if not (heldout / s / 'dataset_dict.json').exists()]
    if missing:
        print(f"no held-out set {', '.join(missing)} in {heldout}: build the sets with `python tools/heldout.py --out {heldout}`")
        return 1
    sets = {s: load_set(heldout / s, a.pages, a.seed) for s in a.sets}
    stats = json.loads((heldout / 'stats.json').read_text()) if (heldout / 'stats.json').exists() else {}
    altered = {s: altered_pages(list(ds['pixel_values']), a.seed) for s, ds in sets.items()}
    threads = torch.get_num_threads()
    layout = PageLayout()
    described = {}
    for s, ds in sets.items():
        n_multi = sum(not t.isascii() for t in ds['text'])
        langs = sorted(set(ds['lang']))
        described[s] = dict(pages=len(ds), ascii=len(ds) - n_multi, multibyte=n_multi, languages=langs,
                            chars_per_page=sum(map(len, ds['text'])) / len(ds),
                            source=stats.get('sets', {}).get(s, {}).get('source'))
        print(f"{s}: {len(ds)} pages ({len(ds) - n_multi} ASCII, {n_multi} multi-byte), languages {', '.join(langs)}, "
              f"{described[s]['chars_per_page']:.1f} characters a page")
    print(f"layout: {layout.font} {layout.font_size} px, {layout.cols} x {layout.rows} cells, {layout.wrap} wrapping")
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores visible, torch {torch.__version__} with {threads} threads")

    rows, skipped = [], {}
    for name in PRETRAINED:
        print(f"{name} ...")
        try: rows.append(model_row(name, sets, altered, a.batch_size, density=not a.no_density))
        except Exception as e:
            skipped[name] = f"does not load or run here ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
            print(f"{name}: {skipped[name]}; its row is left out")

    peer_altered = None if a.no_peer_robustness else altered
    why = 'skipped with --no_tesseract' if a.no_tesseract else tesseract_missing()
    if not why:
        langs, lacking = tesseract_langs(sorted({l for ds in sets.values() for l in ds['lang']}))
        if lacking: print(f"Tesseract: no language pack {', '.join(lacking)} (apt-get install -y "
                          f"{' '.join('tesseract-ocr-' + l for l in lacking)}); reading without it")
        if not any(langs.values()): why = "no language pack that the pages need is installed"
    if why: skipped['Tesseract'] = why; print(f"Tesseract: {why}; its row is left out")
    else:
        import pytesseract
        print(f"Tesseract {pytesseract.get_tesseract_version()}: sweeping the preprocessing ...")
        rows.append(peer_row(f"Tesseract {pytesseract.get_tesseract_version()}", tesseract_reader(langs, threads), TESSERACT_SWEEP,
                             sets, peer_altered, a.sweep_pages, dict(langs=langs, workers=threads, omp_thread_limit=1)))

    why = 'skipped with --no_rapidocr' if a.no_rapidocr else rapidocr_missing()
    if why: skipped['RapidOCR'] = why; print(f"RapidOCR: {why}; its row is left out")
    else:
        try: v = version('rapidocr-onnxruntime')
        except PackageNotFoundError: v = '?'
        print(f"RapidOCR {v}: sweeping the preprocessing ...")
        rows.append(peer_row(f"RapidOCR {v}", rapidocr_reader(threads), RAPIDOCR_SWEEP, sets, peer_altered, a.sweep_pages,
                             dict(models='PP-OCRv4 det + rec (ch) from the wheel', angle_classifier=False, threads=threads,
                                  lines='boxes grouped into rows by their tops, joined left to right with spaces')))

    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    record = dict(command=' '.join(['python', 'tools/results.py'] + (sys.argv[1:] if argv is None else list(argv))),
                  heldout=str(heldout), sets=described, seed=a.seed, layout=layout.to_dict(),
                  altered=dict(max_shift=MAX_SHIFT, grey_background=GREY_BACKGROUND, grey_ink=GREY_INK,
                               jpeg_quality=JPEG_QUALITY, threshold=THRESHOLD),
                  python=platform.python_version(), torch=torch.__version__, cpu=cpu_name(), cpu_count=os.cpu_count(),
                  torch_threads=threads, batch_size=a.batch_size, skipped=skipped, rows=rows)
    (out/'results.json').write_text(json.dumps(record, indent=1, ensure_ascii=False) + '\n')

    md = ['# Results on held-out pages', '']
    for s, d in described.items():
        md += [f"## {s}: {SET_NAMES[s]}", '',
               f"{d['pages']} pages ({d['ascii']} ASCII, {d['multibyte']} with multi-byte characters), "
               f"{d['chars_per_page']:.1f} characters a page; languages: {', '.join(d['languages'])}.", '',
               set_table(rows, s), '']
    md += ['## Readers and speed', '', systems_table(rows), '']
    if any('altered' in v for r in rows for v in r['sets'].values()):
        md += ['## Robustness: CER on altered copies of the same pages', '', robustness_table(rows), '']
    if any('density' in v for r in rows for v in r['sets'].values()):
        md += ['## Density: CER on the same pages cut to their first characters', '', density_table(rows), '']
    notes = [f"Pages: the held-out sets of `tools/heldout.py` in `{heldout}`; " +
             '; '.join(f"{s}: {d['source']}" for s, d in described.items() if d['source']) +
             f". Layout: {layout.font} {layout.font_size} px, {layout.cols} x {layout.rows} cells ({layout.capacity} characters), "
             f"{layout.wrap} wrapping, the layout the models were trained on; the models never saw this text.",
             "CER: edits / reference characters over the pages; 1-NED: mean over pages of 1 - edits / max length; exact match: "
             "pages read without an error; counter MAE: mean |predicted - true| count (characters for a model with a slot per "
             "character cell, tokens for one with a slot per byte). ASCII pages have labels of ASCII characters only; "
             "multi-byte pages have at least one character that takes 2 to 4 bytes in UTF-8.",
             f"Speed: on {cpu_name()} ({os.cpu_count()} cores visible, shared with other work), every reader on the same "
             f"{threads} threads, over the clean pages of every set, decoded before the clock starts: the models with `read_pages` in batches "
             f"of {a.batch_size} with torch {torch.__version__} (forward passes, decoding and page confidences counted; the median of "
             "3 rounds, taking turns with the same pages under `torch.autocast` with bfloat16 for the bf16 column), the peers with "
             "their preprocessing counted, in one round; "
             "'bf16 vs Tesseract' is the model's pages/s times that bf16/fp32 ratio, over Tesseract's.",
             "Training time: `train_step_seconds` of `imagetextslot/weights/<preset>/training.json`, the optimizer steps' wall time.",
             f"Robustness: the same pages shifted by a random offset of up to {MAX_SHIFT} px on each axis (seed {a.seed}), "
             f"recoloured to background {GREY_BACKGROUND} and ink {GREY_INK}, saved as JPEG at quality {JPEG_QUALITY}, recoloured then saved as JPEG, or thresholded "
             f"at {THRESHOLD}. The models read them with `read_text`, which normalises an image as it does for any user, and "
             "their 'clean' column is `read_text` on the unaltered pages (the set tables use `evaluate` on the stored pages). "
             "The peers read them with the preprocessing chosen on the clean pages.",
             f"Density: each page's label cut to its first {', '.join(map(str, CUTS))} characters (without the spaces that would end it, "
             "`visible_label`) and rendered again with `render_page`."]
    for r in rows:
        if r['kind'] == 'model':
            notes.append(f"`{r['system']}`: {r['checkpoint']}, {r['pages_seen']:,} pages seen" + (f"; {r['notes']}" if r.get('notes') else '') + '.')
            if r.get('bf16'):
                notes.append(f"`{r['system']}` under bf16 autocast (`read_pages(..., bf16=True)`, `imagetextslot-read --bf16`): CER " +
                             ', '.join(f"{s} {pct(b['bf16']['all']['cer'])} (fp32 {pct(b['fp32']['all']['cer'])})"
                                       for s, b in r['bf16']['sets'].items()) +
                             f"; {r['bf16']['bf16_pages_per_s']:.1f} pages/s against {r['bf16']['fp32_pages_per_s']:.1f} in fp32.")
    for r in rows:
        if r['kind'] != 'peer': continue
        s = r['setting']
        how = (f"upscaled {s['scale']}x with LANCZOS, {'inverted to dark-on-light' if s['invert'] else 'not inverted'}, "
               + (f"`--psm {s['psm']}`, " if 'psm' in s else '') + f"lines joined with {s['join']!r}")
        if 'langs' in s:
            notes.append(f"{r['system']}: {how}; language packs {', '.join(f'{k}: `-l {v}`' for k, v in s['langs'].items())}. "
                         f"{s['workers']} tesseract processes at a time, one thread each (`OMP_THREAD_LIMIT=1`).")
        else:
            notes.append(f"{r['system']}: {how}; {s['models']}, no angle classifier (the pages are upright), onnxruntime on "
                         f"{s['threads']} threads; {s['lines']}. Its recognition dictionary lacks many accented letters.")
    for name, why in skipped.items(): notes.append(f"{name}: {why}; its row is left out.")
    md += ['## Notes', ''] + [f"- {n}" for n in notes]
    for r in rows:
        if r['kind'] == 'peer':
            md += ['', f"## {r['system']}: preprocessing sweep ({r['sweep'][0]['pages']} pages, the first of each set)", '', sweep_table(r)]
    md += ['', f"Made with `{record['command']}`."]
    (out/'results.md').write_text('\n'.join(md) + '\n')
    print(); print('\n'.join(md[:md.index('## Notes')])); print(f"wrote {out/'results.json'} and {out/'results.md'}")
    return 0


if __name__ == '__main__': sys.exit(main())
