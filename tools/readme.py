"""Generate README.md from nbs/index.ipynb, or check that it is up to date.

`nbdev_readme` renders the home page with Quarto. Where Quarto is absent this script takes the same
route without it: nbdev's own docs processors (`FilterDefaults`, what `nbdev_docs` applies before
handing over to Quarto), then nbconvert's Markdown exporter. The home page's figures are written
to `README_files/`, committed beside README.md, so that the README shows them wherever it is read.

    python tools/readme.py          # write README.md
    python tools/readme.py --check  # exit 1 when README.md and nbs/index.ipynb disagree
"""
import argparse, difflib, os, sys, tempfile
from pathlib import Path

from execnb.nbio import read_nb, write_nb
from nbconvert import MarkdownExporter
from nbdev.config import get_config
from nbdev.processors import FilterDefaults
import nbformat, yaml


def _frontmatter_to_markdown(nb):
    "Turn the processed notebook's YAML front matter back into a heading and summary line."
    for cell in nb.cells:
        src = ''.join(cell.source)
        if cell.cell_type == 'raw' and src.startswith('---'):
            meta = yaml.safe_load(src.strip().strip('-')) or {}
            lines = [f"# {meta.get('title', '')}".rstrip()]
            if meta.get('description'): lines += ['', f"> {meta['description']}"]
            cell.cell_type, cell.source = 'markdown', '\n'.join(lines)
            break
    return nb


FIGURES = 'README_files' # folder of the README's figures, beside README.md


def render_readme() -> tuple[str, dict]:
    "README.md's text, rendered from the docs-processed `index.ipynb`, and its figures (file name -> bytes)."
    cfg = get_config()
    os.environ['IN_TEST'] = '1'  # as nbdev's docs driver does: no side effects while processing
    nb = read_nb(cfg.nbs_path/cfg.readme_nb)
    FilterDefaults()(nb)
    nb = _frontmatter_to_markdown(nb)
    with tempfile.TemporaryDirectory() as d:  # execnb's in-memory form -> standard nbformat
        write_nb(nb, Path(d)/'index.ipynb')
        node = nbformat.read(Path(d)/'index.ipynb', as_version=4)
    node.metadata['language_info'] = {'name': 'python'}  # fenced code blocks say python
    node.cells = [c for c in node.cells if c.get('source', '').strip() or c.get('outputs')]
    body, res = MarkdownExporter().from_notebook_node(node)
    figures = {n: b for n, b in res.get('outputs', {}).items() if f'({n})' in body}   # the ones the text shows
    for name in figures: body = body.replace(f'({name})', f'({FIGURES}/{name})')
    body = '\n'.join(line.rstrip() for line in body.splitlines()).strip() + '\n'
    while '\n\n\n' in body: body = body.replace('\n\n\n', '\n\n')
    return body, figures


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--check', action='store_true', help='fail when README.md is out of date')
    args = p.parse_args()
    readme = get_config().config_path/'README.md'
    text, figures = render_readme()
    folder = readme.parent/FIGURES
    if args.check:
        old = readme.read_text(encoding='utf-8') if readme.exists() else ''
        stale = sorted(n for n, b in figures.items() if not (folder/n).is_file() or (folder/n).read_bytes() != b)
        extra = sorted(f.name for f in folder.glob('*') if f.name not in figures) if folder.exists() else []
        if stale or extra:
            print(f"{FIGURES}/ is out of date (differs: {stale}; not in the README: {extra}): run `python tools/readme.py` and commit it.", file=sys.stderr)
            sys.exit(1)
        if old != text:
            sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), text.splitlines(True), 'README.md', 'from nbs/index.ipynb'))
            print('\nREADME.md is out of date: run `python tools/readme.py` and commit it.', file=sys.stderr)
            sys.exit(1)
        print('README.md matches nbs/index.ipynb')
    else:
        readme.write_text(text, encoding='utf-8')
        folder.mkdir(exist_ok=True)
        for f in folder.glob('*'):
            if f.name not in figures: f.unlink()
        for n, b in figures.items(): (folder/n).write_bytes(b)
        print(f'wrote {readme} and {len(figures)} figure(s) in {folder}')


if __name__ == '__main__': main()
