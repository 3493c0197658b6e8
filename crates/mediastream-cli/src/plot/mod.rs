//! `mediastream plot`: one stream of a `--json` document drawn as an SVG
//! report, or as a self-contained HTML page with the SVG inline and a
//! table of the key numbers. `data` loads (JSON -> plain series, tested
//! alone), `svg` draws.

pub mod data;
pub mod svg;

use data::{file_name, PlotData};

/// The title when `--title` is not given.
pub fn default_title(data: &PlotData) -> String {
    format!(
        "mediastream: {}, stream {} ({})",
        file_name(&data.file),
        data.index,
        data.role
    )
}

/// `text` with HTML's special characters escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A page that needs nothing else: styles inline, the SVG inline, the key
/// numbers as a table (copyable, readable by a screen reader).
pub fn html(data: &PlotData, title: &str, svg: &str) -> String {
    let mut rows = String::new();
    for (name, value) in data.key_numbers() {
        rows.push_str(&format!(
            "<tr><th scope=\"row\">{}</th><td>{}</td></tr>\n",
            escape(&name),
            escape(&value)
        ));
    }
    format!(
        "<!DOCTYPE html>
<html lang=\"en\">
<head>
<meta charset=\"utf-8\">
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">
<meta name=\"generator\" content=\"mediastream {version}\">
<title>{title}</title>
<style>
body {{ font-family: sans-serif; color: #222; margin: 1.5em auto; max-width: 1240px; padding: 0 1em; }}
h1 {{ font-size: 1.4em; margin-bottom: 0.2em; }}
p.sub {{ color: #666; margin-top: 0; }}
figure {{ margin: 1em 0; }}
figure svg {{ max-width: 100%; height: auto; border: 1px solid #eee; }}
table {{ border-collapse: collapse; }}
th, td {{ padding: 0.25em 0.8em; border-bottom: 1px solid #e6e6e6; }}
th {{ text-align: left; font-weight: normal; color: #555; }}
td {{ text-align: right; font-variant-numeric: tabular-nums; font-weight: bold; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p class=\"sub\">{settings}<br>{headline}</p>
<figure>
{svg}
</figure>
<h2>Key numbers</h2>
<table>
{rows}</table>
<p class=\"sub\">From {file}: streams[{index}] of {count} (--stream {index}).</p>
</body>
</html>
",
        version = env!("CARGO_PKG_VERSION"),
        title = escape(title),
        settings = escape(&data.settings_line()),
        headline = escape(&data.headline()),
        svg = svg.trim(),
        file = escape(&data.file),
        index = data.index,
        count = data.count,
    )
}
