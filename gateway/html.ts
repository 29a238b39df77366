export function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/** The frame every page shares: no scripts, no external assets, readable on a phone. */
export function page (title: string, body: string, options: { refreshSeconds?: number } = {}): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
${options.refreshSeconds === undefined ? '' : `<meta http-equiv="refresh" content="${options.refreshSeconds}">`}
<link rel="icon" href="data:,">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><a class="brand" href="/">Cairn</a></header>
<main>
${body}
</main>
</body>
</html>
`
}

const STYLE = `
:root{color-scheme:light dark;--fg:#1d232a;--muted:#5f6b76;--line:#d8dee4;--bg:#fff;--card:#f6f8fa;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--bar:#0969da}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--line:#30363d;--bg:#0d1117;--card:#161b22;--ok:#3fb950;--warn:#d29922;--bad:#f85149;--bar:#4493f8}}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
header{padding:.6rem 1rem;border-bottom:1px solid var(--line)}
.brand{font-weight:700;text-decoration:none;color:var(--fg)}
main{max-width:72rem;margin:0 auto;padding:1rem;overflow-wrap:anywhere}
h1{font-size:1.35rem;margin:.5rem 0 1rem;word-break:break-all}
h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
a{color:var(--bar)}
.muted{color:var(--muted)}
.mono,code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85em}
.table{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600;color:var(--muted);font-size:.85em}
td.num,th.num{text-align:right;white-space:nowrap}
.cid{word-break:break-all}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(11rem,1fr));gap:.75rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:.5rem;padding:.6rem .8rem}
.card b{display:block;font-size:1.3rem}
.bar{height:.55rem;background:var(--line);border-radius:.3rem;overflow:hidden;min-width:6rem}
.bar span{display:block;height:100%;background:var(--bar)}
.pill{display:inline-block;padding:0 .5rem;border-radius:1rem;font-size:.8em;font-weight:600;border:1px solid currentColor}
.ok{color:var(--ok)}.warn{color:var(--warn)}.bad{color:var(--bad)}
.banner{padding:.7rem 1rem;border-radius:.5rem;margin:0 0 1rem;font-weight:600;border:1px solid currentColor}
@media (max-width:40rem){th.opt,td.opt{display:none}main{padding:.6rem}}
`
