//! Small SVG charts drawn by hand: bars, lines, heatmap. No scripts, no fonts beyond the
//! system's sans-serif. Each chart is one `<svg class="chart">` element whose marks (`rect`,
//! `polyline`, `circle`) carry `class="mark"`, so a test can count what was drawn.

use std::fmt::Write;

use crate::output::Chart;

const W: f64 = 640.0;
const H: f64 = 300.0;
const PALETTE: [&str; 8] = [
    "#1f5fa8", "#d9822b", "#2e9e5b", "#c23b3b", "#7b5ea7", "#8c6d31", "#d16ba5", "#5f7f8c",
];

/// Escapes text for HTML and SVG.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn fmt_value(v: f64, percent: bool) -> String {
    if percent {
        format!("{:.1}%", v * 100.0)
    } else if v.abs() >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v.abs() >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

/// A "nice" top of the axis for `max`.
fn nice_top(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(max.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * mag >= max {
            return m * mag;
        }
    }
    10.0 * mag
}

fn open(out: &mut String, kind: &str, title: &str, h: f64) {
    let _ = write!(
        out,
        r#"<svg class="chart" data-kind="{kind}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {h}" width="100%" role="img" aria-label="{t}"><title>{t}</title><text x="8" y="18" class="ttl">{t}</text>"#,
        t = esc(title)
    );
}

/// An axis tick: as [`fmt_value`], but a fraction below 10,000 keeps up to two decimals (a
/// quarter of a small top is not rounded to a whole number).
fn fmt_tick(v: f64, percent: bool) -> String {
    if percent || v.abs() >= 1e4 || v.fract() == 0.0 {
        return fmt_value(v, percent);
    }
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The top of a y axis over values up to `max`: counts and amounts get at least 4, so that an
/// all-zero chart is ticked 0, 1, 2, 3, 4.
fn axis_top(max: f64, percent: bool) -> f64 {
    let top = nice_top(max);
    if percent {
        top
    } else {
        top.max(4.0)
    }
}

fn y_axis(out: &mut String, left: f64, top: f64, bottom: f64, max: f64, percent: bool) {
    for k in 0..=4 {
        let v = max * f64::from(k) / 4.0;
        let y = bottom - (bottom - top) * f64::from(k) / 4.0;
        let _ = write!(
            out,
            r##"<line x1="{left}" x2="{x2}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{tx}" y="{ty:.1}" text-anchor="end" class="ax">{v}</text>"##,
            x2 = W - 10.0,
            tx = left - 4.0,
            ty = y + 4.0,
            v = esc(&fmt_tick(v, percent))
        );
    }
}

/// Draws one chart as an `<svg>` element.
pub fn chart(c: &Chart) -> String {
    let mut out = String::new();
    match c {
        Chart::Bars {
            title,
            labels,
            values,
            percent,
        } => {
            open(&mut out, "bars", title, H);
            let (left, top, bottom) = (64.0, 34.0, H - 56.0);
            let max = axis_top(values.iter().copied().fold(0.0, f64::max), *percent);
            y_axis(&mut out, left, top, bottom, max, *percent);
            let n = values.len().max(1) as f64;
            let slot = (W - 10.0 - left) / n;
            for (i, (l, v)) in labels.iter().zip(values).enumerate() {
                let h = ((v.max(0.0) / max) * (bottom - top)).max(0.0);
                let x = left + slot * i as f64 + slot * 0.15;
                let _ = write!(
                    out,
                    r#"<rect class="mark" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{f}"><title>{l}: {vt}</title></rect><text x="{cx:.1}" y="{vy:.1}" text-anchor="middle" class="val">{vt}</text><text x="{cx:.1}" y="{ly:.1}" text-anchor="middle" class="lbl">{l}</text>"#,
                    y = bottom - h,
                    w = slot * 0.7,
                    f = PALETTE[0],
                    cx = x + slot * 0.35,
                    vy = bottom - h - 4.0,
                    ly = bottom + 16.0,
                    l = esc(l),
                    vt = esc(&fmt_value(*v, *percent)),
                );
            }
        }
        Chart::Lines {
            title,
            x,
            series,
            percent,
        } => {
            open(&mut out, "lines", title, H);
            let (left, top, bottom) = (64.0, 34.0, H - 70.0);
            let max = axis_top(
                series
                    .iter()
                    .flat_map(|(_, v)| v.iter().flatten().copied())
                    .fold(0.0, f64::max),
                *percent,
            );
            y_axis(&mut out, left, top, bottom, max, *percent);
            let n = x.len();
            let step = if n > 1 {
                (W - 60.0 - left) / (n - 1) as f64
            } else {
                0.0
            };
            let px = |i: usize| left + 10.0 + step * i as f64;
            let every = (n / 12).max(1);
            for (i, l) in x.iter().enumerate() {
                if i % every == 0 || i + 1 == n {
                    let _ = write!(
                        out,
                        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="ax">{}</text>"#,
                        px(i),
                        bottom + 14.0,
                        esc(l)
                    );
                }
            }
            for (si, (name, vals)) in series.iter().enumerate() {
                let color = PALETTE[si % PALETTE.len()];
                let pts: Vec<String> = vals
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| {
                        v.map(|v| format!("{:.1},{:.1}", px(i), bottom - v / max * (bottom - top)))
                    })
                    .collect();
                if pts.len() > 1 {
                    let _ = write!(
                        out,
                        r#"<polyline class="mark" fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
                        pts.join(" ")
                    );
                }
                for p in &pts {
                    let (cx, cy) = p.split_once(',').unwrap_or(("0", "0"));
                    let _ = write!(
                        out,
                        r#"<circle class="mark" cx="{cx}" cy="{cy}" r="2.5" fill="{color}"/>"#
                    );
                }
                let lx = left + (si % 4) as f64 * 140.0;
                let ly = H - 40.0 + (si / 4) as f64 * 13.0;
                let _ = write!(
                    out,
                    r#"<rect x="{lx:.1}" y="{:.1}" width="10" height="10" fill="{color}"/><text x="{:.1}" y="{ly:.1}" class="lbl">{}</text>"#,
                    ly - 9.0,
                    lx + 14.0,
                    esc(name)
                );
            }
        }
        Chart::Heatmap {
            title,
            rows,
            cols,
            values,
        } => {
            let (left, top) = (80.0, 52.0);
            let cw = (W - 10.0 - left) / cols.len().max(1) as f64;
            let ch = 24.0;
            let h = top + ch * rows.len() as f64 + 10.0;
            open(&mut out, "heatmap", title, h);
            let _ = write!(
                out,
                r#"<text x="8" y="{:.1}" class="ax">from \ to</text>"#,
                top - 8.0
            );
            for (j, c) in cols.iter().enumerate() {
                let _ = write!(
                    out,
                    r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="ax">{}</text>"#,
                    left + cw * (j as f64 + 0.5),
                    top - 8.0,
                    esc(c)
                );
            }
            for (i, r) in rows.iter().enumerate() {
                let y = top + ch * i as f64;
                let _ = write!(
                    out,
                    r#"<text x="{:.1}" y="{:.1}" text-anchor="end" class="ax">{}</text>"#,
                    left - 6.0,
                    y + ch * 0.65,
                    esc(r)
                );
                for (j, v) in values.get(i).into_iter().flatten().enumerate() {
                    let a = v.unwrap_or(0.0).clamp(0.0, 1.0);
                    let fill = if v.is_some() {
                        format!("rgba(31,95,168,{:.3})", 0.06 + 0.94 * a)
                    } else {
                        "#f4f4f4".to_string()
                    };
                    let txt = v.map_or(String::new(), |v| fmt_value(v, true));
                    let _ = write!(
                        out,
                        r##"<rect class="mark" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{ch}" fill="{fill}" stroke="#fff"/><text x="{tx:.1}" y="{ty:.1}" text-anchor="middle" class="cell" fill="{tc}">{txt}</text>"##,
                        x = left + cw * j as f64,
                        w = cw,
                        tx = left + cw * (j as f64 + 0.5),
                        ty = y + ch * 0.65,
                        tc = if a > 0.5 { "#fff" } else { "#222" },
                        txt = esc(&txt),
                    );
                }
            }
        }
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marks(s: &str) -> usize {
        s.matches("class=\"mark\"").count()
    }

    #[test]
    fn bars_draw_one_rect_per_value_scaled_to_a_nice_top() {
        let s = chart(&Chart::Bars {
            title: "Balance <by> bucket".into(),
            labels: vec!["current".into(), "1-30".into()],
            values: vec![800.0, 200.0],
            percent: false,
        });
        assert_eq!(marks(&s), 2);
        assert!(s.contains("Balance &lt;by&gt; bucket"));
        // top of axis 1000; plot height 300-56-34 = 210; 800 → 168.0
        assert!(s.contains(r#"height="168.0""#), "{s}");
        assert!(s.starts_with("<svg") && s.ends_with("</svg>"));
    }

    #[test]
    fn lines_and_heatmap_draw_marks() {
        let s = chart(&Chart::Lines {
            title: "t".into(),
            x: vec!["a".into(), "b".into(), "c".into()],
            series: vec![("s".into(), vec![Some(0.1), None, Some(0.3)])],
            percent: true,
        });
        // one polyline, two points
        assert_eq!(marks(&s), 3);
        let s = chart(&Chart::Heatmap {
            title: "h".into(),
            rows: vec!["r1".into(), "r2".into()],
            cols: vec!["c1".into(), "c2".into(), "c3".into()],
            values: vec![
                vec![Some(1.0), Some(0.0), None],
                vec![None, Some(0.5), Some(0.5)],
            ],
        });
        assert_eq!(marks(&s), 6);
        assert!(s.contains("100.0%") && s.contains("50.0%"));
    }

    #[test]
    fn small_axes_tick_whole_numbers_or_show_their_fractions() {
        // All zero (no recoveries, no breaches): 0, 1, 2, 3, 4, not 0, 0, 0, 1, 1.
        assert_eq!(axis_top(0.0, false), 4.0);
        let ticks: Vec<String> = (0..=4)
            .map(|k| fmt_tick(axis_top(0.0, false) * f64::from(k) / 4.0, false))
            .collect();
        assert_eq!(ticks, ["0", "1", "2", "3", "4"]);
        // Top 5: quarters 1.25, 2.5, 3.75 shown as they are.
        assert_eq!(axis_top(5.0, false), 5.0);
        assert_eq!(fmt_tick(1.25, false), "1.25");
        assert_eq!(fmt_tick(2.5, false), "2.5");
        // Ratios keep their own top and percent labels; large amounts their k / M.
        assert_eq!(axis_top(0.37, true), 0.5);
        assert_eq!(fmt_tick(0.125, true), "12.5%");
        assert_eq!(fmt_tick(12_500.0, false), "12.5k");
    }

    #[test]
    fn nice_tops() {
        assert_eq!(nice_top(0.0), 1.0);
        assert_eq!(nice_top(0.37), 0.5);
        assert_eq!(nice_top(800.0), 1000.0);
        assert_eq!(nice_top(2100.0), 2500.0);
    }
}
