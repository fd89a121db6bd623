"""Process the notebooks for the docs as `nbdev_docs` does, then build a static HTML preview of every page.

`nbdev_docs` runs nbdev's docs steps (refresh `nbs/nbdev.yml`, rebuild `_modidx.py`, write
`nbs/sidebar.yml`, process every notebook into `_proc/` with `FilterDefaults`: front matter,
automatic `show_doc` cells, hidden cells removed, ...) and then hands `_proc/` to Quarto. This
script runs the same steps without Quarto, then turns each processed page into HTML with
nbconvert's `HTMLExporter`: `_preview/<page>.html`, named as Quarto names them (`00_tokenizer.ipynb`
becomes `tokenizer.html`), every page with a navigation bar that links all of them; `index.html`
is the home page (`nbs/index.ipynb`). `_preview/pages.json` lists the pages with what each must
show (title, visible code cells, figures), which `tools/browser_check.py docs` checks in Chromium.

    python tools/docs_preview.py            # _proc/ and _preview/
    python tools/docs_preview.py --force    # ignore nbdev's _proc/ cache
"""
import argparse, html, json, os, re, shutil, sys, time
from pathlib import Path

import jinja2, nbformat, yaml
from nbconvert import HTMLExporter
from nbconvert.preprocessors import TagRemovePreprocessor
from nbdev.config import get_config
from nbdev.doclinks import nbglob, _nbpath2html, _build_modidx
from nbdev.quarto import refresh_quarto_yml, nbdev_sidebar
from nbdev.serve import proc_nbs

# nbconvert's lab template without the scripts it fetches from a CDN (require.js, MathJax,
# mermaid): the preview must work offline, and a page that loads nothing from outside has no
# console errors to explain. A navigation bar plays the part of Quarto's sidebar.
_TEMPLATE = r"""{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}{#- widget state (tqdm bars) would load a renderer from a CDN: the preview stays offline -#}
{%- block html_head_css -%}
<link rel="icon" href="data:,">
<style>
  body.jp-Notebook { max-width: 1100px; margin: 0 auto; padding: 0 1rem 3rem; }
  nav.preview-nav { display: flex; flex-wrap: wrap; gap: .3rem 1rem; align-items: baseline;
    padding: .6rem 1rem; margin: 0 -1rem 1rem; background: #2780e3; font-family: sans-serif; }
  nav.preview-nav a { color: #fff; text-decoration: none; }
  nav.preview-nav a.site { font-weight: bold; font-size: 1.15rem; margin-right: 1rem; }
  nav.preview-nav a.current { text-decoration: underline; }
  p.description { font-style: italic; font-size: 1.3rem; opacity: .7; margin-top: 0; }
  .jp-RenderedMarkdown table { border-collapse: collapse; }
  .jp-InputPrompt, .jp-OutputPrompt { display: none; }  /* Quarto shows no prompts either */
</style>
{%- endblock html_head_css -%}
{%- block body_header -%}
{{ super() }}
{{ resources.preview_nav }}
{%- endblock body_header -%}
"""

_QUARTO_OPT = re.compile(r'^#\|\s*([\w-]+)\s*:\s*(.*?)\s*$')


def _docs_steps(nbs:Path, n_workers:int, force:bool) -> Path:
    "nbdev's `_pre_docs` without the Quarto install: nbdev.yml, _modidx.py, sidebar.yml, then `proc_nbs` into _proc/."
    refresh_quarto_yml()
    _build_modidx()
    nbdev_sidebar.__wrapped__(path=nbs)
    return proc_nbs(nbs, n_workers=n_workers, force=force)


def _front_matter(nb) -> dict:
    "The YAML front matter nbdev's `FrontmatterProc` put in the first raw cell, removed from `nb`."
    for i, cell in enumerate(nb.cells):
        src = cell.source.strip()
        if cell.cell_type == 'raw' and src.startswith('---') and src.endswith('---'):
            del nb.cells[i]
            return yaml.safe_load(src.strip('-')) or {}
    return {}


def _apply_cell_options(nb):
    "Quarto's cell options, as tags nbconvert understands: `include`, `echo` and `output` false; `#|` lines dropped."
    for cell in nb.cells:
        if cell.cell_type != 'code': continue
        lines, opts = cell.source.splitlines(), {}
        while lines and _QUARTO_OPT.match(lines[0]):
            k, v = _QUARTO_OPT.match(lines.pop(0)).groups()
            opts[k] = v.strip('\'"').lower()
        cell.source = '\n'.join(lines).strip('\n')
        tags = cell.metadata.setdefault('tags', [])
        if opts.get('include') == 'false': tags.append('preview-remove-cell')
        if opts.get('echo') == 'false' or not cell.source.strip(): tags.append('preview-remove-input')
        if opts.get('output') == 'false': tags.append('preview-remove-output')
    return TagRemovePreprocessor(remove_cell_tags={'preview-remove-cell'}, remove_input_tags={'preview-remove-input'},
                                 remove_all_outputs_tags={'preview-remove-output'}, enabled=True).preprocess(nb, {})[0]


def _expectations(nb) -> dict:
    "What the page must show: visible code cells, image outputs, and any error output found in the notebook."
    code = sum(1 for c in nb.cells if c.cell_type == 'code' and 'preview-remove-input' not in c.metadata.get('tags', []))
    figures, errors = 0, []
    for c in nb.cells:
        for o in c.get('outputs', []):
            if o.output_type == 'error': errors.append(f"{o.ename}: {o.evalue}")
            elif o.output_type == 'stream' and o.name == 'stderr' and re.search(r'Traceback \(most recent call last\)|^\w*(Error|Exception)\b', o.text, re.M):
                errors.append(o.text.strip().splitlines()[-1])
            elif o.output_type in ('display_data', 'execute_result'):
                figures += any(k.startswith('image/') for k in o.get('data', {}))
    return dict(code_cells=code, figures=figures, errors=errors)


_QUARTO_ATTRS = re.compile(r'(\]\([^)\s]*\))\{[^}\n]*\}')

def _quarto_markdown(nb):
    "Drop Quarto's attribute blocks after links (`[source](url){target=...}`), which plain Markdown would print."
    for c in nb.cells:
        if c.cell_type == 'markdown': c.source = _QUARTO_ATTRS.sub(r'\1', c.source)
        for o in c.get('outputs', []):
            md = o.get('data', {}).get('text/markdown')
            if md: o.data['text/markdown'] = _QUARTO_ATTRS.sub(r'\1', ''.join(md))
    return nb


def _local_links(body:str, page:Path) -> str:
    "Links to notebooks point at their pages (`02_encoder.ipynb#x` -> `encoder.html#x`), as Quarto rewrites them."
    def fix(m):
        url = m.group(2)
        if re.match(r'^[a-z]+:|^#|^/', url): return m.group(0)
        path, _, frag = url.partition('#')
        if path.endswith('.ipynb'): path = _nbpath2html(Path(path)).as_posix()
        return f'{m.group(1)}{path}{"#" + frag if frag else ""}"'
    return re.sub(r'(href=")([^"]*)"', fix, body)


def _nav(pages:list, current:str, site:str) -> str:
    "The bar every page carries: the site title, then every page, in the sidebar's order."
    depth = current.count('/')
    up = '../' * depth
    items = [f'<a class="site" href="{up}index.html">{html.escape(site)}</a>']
    for p in pages:
        cls = ' class="current"' if p['page'] == current else ''
        items.append(f'<a{cls} href="{up}{p["page"]}">{html.escape(p["title"])}</a>')
    return '<nav class="preview-nav">' + '\n'.join(items) + '</nav>'


def build_preview(proc:Path, out:Path, nbs:Path) -> list:
    "HTML page for every processed notebook of `nbs` in `out`; returns the pages' manifest."
    cfg = get_config()
    srcs = nbglob(nbs, func=Path, skip_folder_re=r'(?:^[_.]|^www$)').sorted(key=lambda p: (p.name != 'index.ipynb', str(p.relative_to(nbs))))
    if out.exists(): shutil.rmtree(out)
    out.mkdir(parents=True)
    # Everything Quarto would publish beside the pages (pictures, css) keeps its place.
    for f in proc.rglob('*'):
        if f.is_file() and f.suffix not in ('.ipynb', '.yml', '.py') and not any(p.startswith('.') for p in f.relative_to(proc).parts):
            (out/f.relative_to(proc)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, out/f.relative_to(proc))
    pages, missing = [], []
    for src in srcs:
        rel = src.relative_to(nbs)
        pnb = proc/rel
        if not pnb.exists(): missing.append(str(rel)); continue
        nb = nbformat.read(pnb, as_version=4)
        fm = _front_matter(nb)
        page = (rel.parent/fm['output-file']).as_posix() if fm.get('output-file') else _nbpath2html(rel).as_posix()
        title = str(fm.get('title') or rel.stem)
        head = [f'# {title}'] + ([f'<p class="description">{html.escape(str(fm["description"]))}</p>'] if fm.get('description') else [])
        nb.cells.insert(0, nbformat.v4.new_markdown_cell('\n\n'.join(head)))
        nb = _quarto_markdown(_apply_cell_options(nb))
        nb.metadata['title'] = title
        nb.metadata.setdefault('language_info', {'name': 'python'})
        pages.append(dict(page=page, title=title, source=f'{nbs.name}/{rel.as_posix()}', nb=nb, proc_dir=pnb.parent, **_expectations(nb)))
    if missing:
        sys.exit(f"not processed into {proc}: {', '.join(missing)} (nbdev's proc_nbs skipped them: is a folder on the path hidden?)")
    exporter = HTMLExporter(extra_loaders=[jinja2.DictLoader({'preview.html.j2': _TEMPLATE})], template_file='preview.html.j2',
                            embed_images=True)
    for p in pages:
        res = {'metadata': {'name': p['title'], 'path': str(p['proc_dir'])}, 'preview_nav': _nav(pages, p['page'], cfg.title)}
        body, _ = exporter.from_notebook_node(p.pop('nb'), resources=res)
        p.pop('proc_dir')
        dest = out/p['page']
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(_local_links(body, Path(p['page'])), encoding='utf-8')
    if not any(p['page'] == 'index.html' for p in pages):  # no home notebook: a plain list of the pages
        links = ''.join(f'<li><a href="{p["page"]}">{html.escape(p["title"])}</a></li>' for p in pages)
        (out/'index.html').write_text(f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(cfg.title)}</title></head>'
                                      f'<body><h1>{html.escape(cfg.title)}</h1><ul>{links}</ul></body></html>', encoding='utf-8')
    (out/'pages.json').write_text(json.dumps(pages, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')
    return pages


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', default='_preview', help='folder for the HTML preview (relative to the repository root)')
    p.add_argument('--force', action='store_true', help="process every notebook again, ignoring nbdev's _proc/ cache")
    p.add_argument('--n_workers', type=int, default=min(2, os.cpu_count() or 1), help='processes for the notebook processing')
    args = p.parse_args()
    cfg = get_config()
    os.chdir(cfg.config_path)
    t0 = time.time()
    try: proc = _docs_steps(cfg.nbs_path, args.n_workers, args.force)
    except Exception as e:
        msg, chain, c = str(e).strip(), [], e
        while c is not None: chain.append(str(c)); c = c.__cause__
        why = [l.strip() for t in chain for l in t.splitlines() if re.match(r'\s*\w*(Error|Exception|Interrupt)\b: ', l)
               and 'Error in notebook' not in l and 'in cell' not in l]
        if why: msg += f"\n\nwhich failed with: {why[0]}"
        print(f"\nnbdev's docs processing failed (nbdev_docs would fail the same way):\n{msg}\n\n"
              "Hint: nbdev runs every cell that contains an import to render `show_doc`; keep imports in cells of\n"
              "their own, and give cells that must not run in the docs `#| eval: false`.", file=sys.stderr)
        sys.exit(1)
    t1 = time.time()
    out = cfg.config_path/args.out
    pages = build_preview(proc, out, cfg.nbs_path)
    print(f"processed the notebooks into {proc.relative_to(cfg.config_path)}/ in {t1-t0:.1f}s; "
          f"{len(pages)} pages in {out.relative_to(cfg.config_path)}/ in {time.time()-t1:.1f}s")
    for pg in pages:
        flag = f"  ERRORS: {'; '.join(pg['errors'])}" if pg['errors'] else ''
        print(f"  {pg['page']:<32} {pg['title'][:40]:<40} code {pg['code_cells']:>3}  figures {pg['figures']:>2}{flag}")


if __name__ == '__main__': main()
