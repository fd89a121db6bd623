"""Build the held-out page sets that judge the models, each split into ASCII pages and pages with multi-byte characters.

Neither set is drawn from the training source (Faker's synthetic text). Both are rendered at the default
`PageLayout()` with `make_dataset` and saved with `save_to_disk` under --out, each as a DatasetDict with an
`ascii` split (labels of ASCII characters only: one byte, one token each) and a `multibyte` split (labels with
at least one character outside ASCII, which takes two to four bytes, so two to four of the model's tokens):

  python-docs  Python's own documentation (`pydoc_data.topics` of the Python that runs this script): --pages
               pages drawn with --seed from all of its pages, as tools/results.py draws them (the same pages
               for the same count and seed).
  manpages     Debian's translated manual pages in Italian, German, French and Spanish, read by
               `manpage_texts` (apt-get install -y manpages-it manpages-de manpages-fr manpages-es): --pages
               pages, a quarter in each language; each language's manual pages are taken in an order shuffled
               by --seed, one page drawn from each (a further one from each only if a language runs out).
  manpages-pl  Debian's Polish manual pages (apt-get install -y manpages-pl), drawn the same way: a language
               whose letters (ą ć ę ł ń ś ź ż) lie beyond Latin-1, in a set that played no part in choosing
               the training text.

The pages keep the columns of `make_dataset` (`pixel_values`, `text`, `doc`, and `page`, the page's index in its
document) and add `lang`. Each set's folder holds `layout.json` (for `load_layout`); `stats.json` beside the
sets holds what this prints, and where the text came from.

    python tools/heldout.py                                   # data/heldout/python-docs, manpages and manpages-pl
    python tools/heldout.py --out /tmp/heldout --pages 100 --sets manpages
"""
import argparse, itertools, json, platform, random, shutil, subprocess, time
from collections import Counter
from pathlib import Path

import datasets

from imagetextslot.dataset import MANPAGE_LANGS, PageLayout, make_dataset, manpage_texts, paginate, visible_label

SETS = ('python-docs', 'manpages', 'manpages-pl')


def python_docs_pages(n:int, seed:int) -> datasets.Dataset:
    "`n` pages drawn at random (by `seed`) from every page of Python's documentation at the default layout."
    pages = make_dataset('python-docs', n_pages=None, val_fraction=0, seed=seed, progress=False)['train'] # every page, shuffled by `seed`
    if n > len(pages): print(f"python-docs makes only {len(pages)} pages at the default layout: using all of them")
    pages = pages.select(range(min(n, len(pages))))
    return pages.add_column('lang', ['en'] * len(pages))


def manpage_labels(lang:str, n:int, seed:int, layout:PageLayout) -> list[tuple[str, int, str]]:
    "`n` page labels of `lang`'s manual pages as (doc_id, page index, label): one drawn from each manual page in seeded order."
    rng = random.Random(f"heldout:{seed}:{lang}")
    out, seen = [], []                                   # seen: (doc_id, labels, the order its pages are drawn in)
    for doc_id, text in manpage_texts(lang, seed=seed):
        labels = [visible_label(p) for p in paginate(text, layout) if not p.isspace()]
        if not labels: continue
        order = rng.sample(range(len(labels)), len(labels))
        seen.append((doc_id, labels, order))
        out.append((doc_id, order[0], labels[order[0]]))
        if len(out) == n: return out
    for r in itertools.count(1):                         # fewer manual pages than `n`: a further page of each, round by round
        more = [(d, o[r], ls[o[r]]) for d, ls, o in seen if r < len(o)]
        if not more: break
        out += more[:n - len(out)]
        if len(out) == n: return out
    print(f"manpages: {lang} has only {len(out)} pages at the default layout: using all of them")
    return out


def manpage_pages(n:int, seed:int, langs=MANPAGE_LANGS) -> datasets.Dataset:
    "`n` pages of the translated manual pages, as even across `langs` as `n` allows, rendered by `make_dataset`."
    layout = PageLayout()
    per = [n // len(langs) + (i < n % len(langs)) for i in range(len(langs))]
    rows = [r for lang, k in zip(langs, per) for r in manpage_labels(lang, k, seed, layout)]
    # each label is one page of the layout, so make_dataset renders it as exactly that page; the key carries the page index
    docs = [(f"{d}#{k}", label) for d, k, label in rows]
    ds = make_dataset(docs, n_pages=None, val_fraction=0, seed=seed, layout=layout, progress=False)['train']
    assert sorted(ds['text']) == sorted(label for _, _, label in rows), "a label did not render as one page"
    keys = [d.rsplit('#', 1) for d in ds['doc']]
    ds = ds.remove_columns(['doc', 'page'])
    ds = ds.add_column('doc', [d for d, _ in keys]).add_column('page', [int(k) for _, k in keys])
    ds = ds.cast_column('page', datasets.Value('int32'))
    return ds.add_column('lang', [d.split('/')[0].removeprefix('manpages-') for d, _ in keys])


def by_bytes(ds:datasets.Dataset) -> datasets.DatasetDict:
    "The pages split into `ascii` (labels of ASCII characters only) and `multibyte` (any other character)."
    multi = [not t.isascii() for t in ds['text']]
    return datasets.DatasetDict(ascii=ds.select([i for i, m in enumerate(multi) if not m]),
                                multibyte=ds.select([i for i, m in enumerate(multi) if m]))


def mean(xs) -> float:
    xs = list(xs)
    return sum(xs) / len(xs) if xs else float('nan')


def stats(dsd:datasets.DatasetDict) -> dict:
    "Pages, languages, the share of pages with multi-byte characters and the extra bytes they cost, overall and by language."
    rows = [(t, l, len(t.encode()) - len(t)) for split in dsd.values() for t, l in zip(split['text'], split['lang'])]
    def summary(rs):
        return dict(pages=len(rs), multibyte_share=mean(e > 0 for _, _, e in rs), extra_bytes_per_page=mean(e for _, _, e in rs),
                    extra_bytes_per_multibyte_page=mean(e for _, _, e in rs if e > 0), chars_per_page=mean(len(t) for t, _, _ in rs),
                    non_ascii_chars_per_page=mean(sum(not c.isascii() for c in t) for t, _, _ in rs))
    langs = sorted(Counter(l for _, l, _ in rows).items(), key=lambda kv: (-kv[1], kv[0]))
    return dict(summary(rows), splits={k: len(v) for k, v in dsd.items()}, languages=dict(langs),
                by_language={l: summary([r for r in rows if r[1] == l]) for l, _ in langs})


def report(name:str, s:dict):
    "Print a set's statistics."
    print(f"{name}: {s['pages']} pages ({s['splits']['ascii']} ascii, {s['splits']['multibyte']} multibyte); "
          f"languages: {', '.join(f'{l} {k}' for l, k in s['languages'].items())}")
    print(f"  pages with multi-byte characters: {100 * s['multibyte_share']:.1f}%; extra bytes per page: mean {s['extra_bytes_per_page']:.2f} "
          f"({s['extra_bytes_per_multibyte_page']:.2f} on the multi-byte pages); characters per page: mean {s['chars_per_page']:.1f}")
    if len(s['by_language']) > 1:
        for l, b in s['by_language'].items():
            print(f"  {l}: {b['pages']} pages, {100 * b['multibyte_share']:.1f}% multi-byte, {b['extra_bytes_per_page']:.2f} extra bytes per page")


def package_versions(names) -> dict:
    "Installed versions of Debian packages, where dpkg-query can tell."
    out = {}
    for p in names:
        try: r = subprocess.run(['dpkg-query', '-W', '-f', '${Version}', p], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError): continue
        if r.returncode == 0 and r.stdout: out[p] = r.stdout
    return out


def save(dsd:datasets.DatasetDict, folder:Path):
    "Save with `save_to_disk`, replacing an earlier dataset in the folder, and write its layout."
    if (folder / 'dataset_dict.json').exists(): shutil.rmtree(folder)
    dsd.save_to_disk(str(folder))
    (folder / 'layout.json').write_text(json.dumps(PageLayout().to_dict(), indent=1))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog='\n\n'.join(__doc__.split('\n\n')[1:]))
    p.add_argument('--out', default='data/heldout', help='folder for the sets and stats.json (default: data/heldout)')
    p.add_argument('--pages', type=int, default=500, help='pages in each set (default: 500)')
    p.add_argument('--seed', type=int, default=0, help='which pages are drawn (default: 0)')
    p.add_argument('--sets', nargs='+', choices=SETS, default=list(SETS), help='the sets to build (default: all)')
    a = p.parse_args(argv)
    if a.pages < 1: p.error('--pages must be at least 1')

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    datasets.disable_progress_bars()
    info = dict(seed=a.seed, pages=a.pages, layout=PageLayout().to_dict(), python=platform.python_version(), sets={})
    if (out / 'stats.json').exists():                    # the sets not rebuilt now keep their entries
        info['sets'] = {k: v for k, v in json.loads((out / 'stats.json').read_text()).get('sets', {}).items() if k not in a.sets}
    built = {'python-docs': lambda: python_docs_pages(a.pages, a.seed), 'manpages': lambda: manpage_pages(a.pages, a.seed),
             'manpages-pl': lambda: manpage_pages(a.pages, a.seed, ('pl',))}
    sources = {'python-docs': f"pydoc_data.topics of Python {platform.python_version()}",
               'manpages': f"Debian's translated manual pages {package_versions(f'manpages-{l}' for l in MANPAGE_LANGS)}, "
                           f"formatted by groff",
               'manpages-pl': f"Debian's Polish manual pages {package_versions(['manpages-pl'])}, formatted by groff"}
    for name in a.sets:
        t0 = time.perf_counter()
        try: pages = built[name]()
        except FileNotFoundError as e:
            print(f"skipped {name}: {e}")
            continue
        dsd = by_bytes(pages)
        save(dsd, out / name)
        s = stats(dsd)
        info['sets'][name] = dict(s, source=sources[name], folder=str(out / name), seconds=round(time.perf_counter() - t0, 1))
        report(name, s)
        print(f"  saved to {out / name} in {info['sets'][name]['seconds']:.0f} s")
    (out / 'stats.json').write_text(json.dumps(info, indent=1, ensure_ascii=False))
    return 0 if info['sets'] else 1


if __name__ == '__main__':
    raise SystemExit(main())
