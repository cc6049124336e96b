//! The report as one self-contained HTML page: inline CSS (with an A4 print stylesheet), inline
//! SVG charts, the tables. No script, no external font, image or stylesheet: the file opens the
//! same offline, in a mail attachment, or printed.

use std::io::Write;

use anyhow::Result;

use super::svg::{chart, esc};
use crate::output::{Cell, Document};

const CSS: &str = r#"
:root { color-scheme: light; }
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; margin: 24px auto; max-width: 1100px; padding: 0 16px; box-sizing: border-box; color: #222; font-size: 14px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 24px 0 6px; border-bottom: 1px solid #ccc; padding-bottom: 2px; }
p.note { color: #555; margin: 2px 0; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(460px, 1fr)); gap: 12px; }
figure { margin: 0; border: 1px solid #e2e2e2; border-radius: 4px; padding: 4px; break-inside: avoid; }
svg.chart { display: block; }
svg .ttl { font-size: 13px; font-weight: bold; }
svg .ax, svg .lbl, svg .val { font-size: 10px; fill: #444; }
svg .cell { font-size: 10px; }
table { border-collapse: collapse; margin: 4px 0 8px; font-size: 12px; }
th, td { border: 1px solid #d5d5d5; padding: 2px 6px; }
th { background: #f0f3f7; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr:nth-child(even) td { background: #fafafa; }
p.empty { color: #888; font-style: italic; }
@page { size: A4; margin: 12mm; }
@media print {
  body { margin: 0; max-width: none; font-size: 10px; }
  .charts { grid-template-columns: 1fr 1fr; }
  figure, table, h2 { break-inside: avoid; }
  h2 { break-after: avoid; }
  table { font-size: 9px; }
}
"#;

fn cell_html(c: &Cell) -> String {
    match c {
        Cell::Money(_) | Cell::Int(_) | Cell::Ratio(_) => {
            format!(r#"<td class="n">{}</td>"#, esc(&c.human()))
        }
        other => format!("<td>{}</td>", esc(&other.human())),
    }
}

/// Writes `doc` as one HTML page.
pub fn write(w: &mut dyn Write, doc: &Document) -> Result<()> {
    let mut s = String::new();
    s.push_str(match doc.lang {
        crate::i18n::Lang::Zh => {
            "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
        }
        crate::i18n::Lang::En => {
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        }
    });
    s.push_str(
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">",
    );
    s.push_str(&format!(
        "<title>{}</title><style>{CSS}</style></head><body>\n",
        esc(&doc.title)
    ));
    s.push_str(&format!("<h1>{}</h1>\n", esc(&doc.title)));
    for n in &doc.notes {
        s.push_str(&format!("<p class=\"note\">{}</p>\n", esc(n)));
    }
    if !doc.charts.is_empty() {
        s.push_str("<div class=\"charts\">\n");
        for c in &doc.charts {
            s.push_str("<figure>");
            s.push_str(&chart(c));
            s.push_str("</figure>\n");
        }
        s.push_str("</div>\n");
    }
    for t in &doc.tables {
        s.push_str(&format!(
            "<h2 id=\"{}\">{}</h2>\n",
            esc(&t.name),
            esc(&t.title)
        ));
        if t.report.rows.is_empty() {
            s.push_str("<p class=\"empty\">(no rows)</p>\n");
            continue;
        }
        s.push_str("<table><thead><tr>");
        for c in &t.report.columns {
            s.push_str(&format!(
                "<th>{}</th>",
                esc(crate::i18n::label(doc.lang, c))
            ));
        }
        s.push_str("</tr></thead><tbody>\n");
        for row in &t.report.rows {
            s.push_str("<tr>");
            for (c, column) in row.iter().zip(&t.report.columns) {
                match c {
                    Cell::Text(x) => s.push_str(&format!(
                        "<td>{}</td>",
                        esc(crate::i18n::value(doc.lang, column, x))
                    )),
                    _ => s.push_str(&cell_html(c)),
                }
            }
            s.push_str("</tr>\n");
        }
        s.push_str("</tbody></table>\n");
    }
    s.push_str("</body></html>\n");
    w.write_all(s.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::{Chart, Report};
    use rust_decimal::Decimal;

    #[test]
    fn page_is_self_contained_and_escapes_text() {
        let mut doc = Document {
            title: "Portfolio <as of> 2026-06-30".into(),
            notes: vec!["a & b".into()],
            ..Document::default()
        };
        let mut r = Report::new(&["bucket", "balance", "share"]);
        r.push(vec![
            Cell::Text("<script>".into()),
            Cell::Money(Decimal::new(123456789, 2)),
            Cell::Ratio(Decimal::new(52345, 6)),
        ]);
        doc.add("by_bucket", "By bucket", r);
        doc.charts.push(Chart::Bars {
            title: "x".into(),
            labels: vec!["a".into()],
            values: vec![1.0],
            percent: false,
        });
        let mut out = Vec::new();
        write(&mut out, &doc).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.contains("&lt;script&gt;") && !s.contains("<script"));
        assert!(s.contains("1,234,567.89") && s.contains("5.23%"));
        assert!(s.contains("a &amp; b"));
        assert!(s.contains("@media print") && s.contains("size: A4"));
        assert_eq!(s.matches("<svg").count(), 1);
        // nothing is fetched: no URL but the SVG namespace
        let urls = s.matches("http://").count() + s.matches("https://").count();
        assert_eq!(urls, s.matches("http://www.w3.org/2000/svg").count());
        assert!(!s.contains("src="));
    }
}
