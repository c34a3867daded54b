//! The digest's charts: one PNG for Slack (participation over the periods
//! beside the rising and new items' mentions), and the SVGs the HTML
//! report inlines (participation, one per trend item, marketing assets).
//!
//! Crate choice: `plotters` (MIT), with default features off and only
//! `svg_backend`, `bitmap_backend`, `line_series` and `ab_glyph`. One
//! drawing code path serves both outputs: `SVGBackend` writes into a
//! `String` for the HTML report, `BitMapBackend` into an RGB buffer that
//! the `png` crate encodes for Slack. Text in the bitmap is rasterised by
//! `ab_glyph` from DejaVu Sans bundled in `assets/fonts/` (its licence is
//! beside it) and registered with `plotters::style::register_font`, so
//! nothing depends on system fonts, fontconfig or FreeType at run time.
//! Alternatives weighed: `charts-rs` (ready-made SVG charts, PNG through
//! `resvg`: a heavier tree and less control of the layout), and
//! hand-written SVG with `resvg`/`tiny-skia` for the PNG (no axes or ticks
//! to reuse, and `resvg`'s text needs a font database).
//!
//! Nothing here panics on odd input (empty or one-period histories, zero
//! or huge values, long labels): a chart that cannot be drawn is `None`
//! (PNG) or an empty string (SVG).

use super::model::*;
use crate::digest::render::{direction_word, num};
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::register_font;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::error::Error;
use std::ops::Range;
use std::sync::OnceLock;

/// The PNG's size in pixels: wide enough for two panels side by side in
/// Slack's image preview.
pub const PNG_WIDTH: u32 = 1000;
pub const PNG_HEIGHT: u32 = 600;

/// Slack's limit on a file's `alt_txt`.
pub const ALT_TEXT_MAX: usize = 1000;

/// The family every chart's text is set in; in the bitmap it is the
/// bundled DejaVu Sans, in SVG the reader's own sans-serif.
const FONT: &str = "sans-serif";
static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Rising and new items drawn in the PNG.
const PNG_TRENDS: usize = 4;
/// Longest label (in characters) on an axis or in a legend.
const LABEL_CHARS: usize = 34;
/// Assets drawn in the assets chart (the table lists them all).
const MAX_ASSETS: usize = 40;

// Okabe–Ito colours: told apart with the common colour-vision deficiencies.
const BLUE_C: RGBColor = RGBColor(0, 114, 178);
const ORANGE_C: RGBColor = RGBColor(230, 159, 0);
const VERMILLION_C: RGBColor = RGBColor(213, 94, 0);
const GREEN_C: RGBColor = RGBColor(0, 158, 115);
const PURPLE_C: RGBColor = RGBColor(204, 121, 167);
const SKY_C: RGBColor = RGBColor(86, 180, 233);
const GREY_C: RGBColor = RGBColor(150, 150, 150);
const GRID_C: RGBColor = RGBColor(225, 225, 225);
const INK_C: RGBColor = RGBColor(40, 40, 40);
const TREND_COLOURS: [RGBColor; 4] = [VERMILLION_C, GREEN_C, PURPLE_C, SKY_C];

type Res = Result<(), Box<dyn Error>>;

/// Registers the bundled font once; false if it could not be read.
fn font_ready() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok())
}

/// Sizes of one rendering (the PNG is read shrunk in Slack; the SVGs at
/// about their own size).
struct Style {
    title: u32,
    caption: u32,
    tick: u32,
    desc: u32,
    legend: u32,
    line: u32,
    dot: u32,
    margin: u32,
    x_area: u32,
    y_area: u32,
    max_x_labels: usize,
}

const PNG_STYLE: Style = Style {
    title: 30,
    caption: 22,
    tick: 17,
    desc: 17,
    legend: 18,
    line: 3,
    dot: 5,
    margin: 14,
    x_area: 56,
    y_area: 64,
    max_x_labels: 8,
};

const SVG_STYLE: Style = Style {
    title: 20,
    caption: 19,
    tick: 17,
    desc: 17,
    legend: 17,
    line: 2,
    dot: 4,
    margin: 8,
    x_area: 48,
    y_area: 52,
    max_x_labels: 6,
};

const SMALL_STYLE: Style = Style {
    title: 15,
    caption: 15,
    tick: 15,
    desc: 15,
    legend: 15,
    line: 2,
    dot: 3,
    margin: 6,
    x_area: 30,
    y_area: 34,
    max_x_labels: 5,
};

/// The chart posted in the digest's Slack thread: participation per
/// period and, beside it, the top rising and new items' mentions per
/// period. `None` for an empty digest (or if drawing failed).
pub fn png(d: &Digest) -> Option<Vec<u8>> {
    if d.is_empty() || !font_ready() {
        return None;
    }
    let (w, h) = (PNG_WIDTH, PNG_HEIGHT);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        if let Err(e) = draw_png(&root, d).and_then(|()| Ok(root.present()?)) {
            tracing::warn!(error = %e, digest = %d.name, "drawing the digest's chart");
            return None;
        }
    }
    encode_png(&buf, w, h)
}

fn draw_png<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, d: &Digest) -> Res
where
    DB::ErrorType: 'static,
{
    let s = &PNG_STYLE;
    root.fill(&WHITE)?;
    let root = root.margin(12, 0, 0, 0);
    let title = short(&format!("{}: {}", d.title, d.period.label), 64);
    let body = root.titled(&title, (FONT, s.title).into_font().color(&INK_C))?;
    let body = body.margin(4, 4, 8, 8);
    let items = top_rising(d);
    if items.is_empty() {
        participation_chart(&body, d, s)
    } else {
        let (left, right) = body.split_horizontally(body.dim_in_pixel().0 / 2);
        participation_chart(&left, d, s)?;
        trends_chart(&right, d, &items, s)
    }
}

fn encode_png(rgb: &[u8], w: u32, h: u32) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().ok()?;
        writer.write_image_data(rgb).ok()?;
        writer.finish().ok()?;
    }
    Some(out)
}

/// A screen-reader description of [`png`]: what it shows and the key
/// numbers, at most [`ALT_TEXT_MAX`] characters.
pub fn alt_text(d: &Digest) -> String {
    let word = period_word(d);
    let mut parts = vec![format!(
        "Chart for {}, {}.",
        short(&d.title, 80),
        short(&d.period.label, 60)
    )];
    if d.is_empty() {
        parts.push(format!("No notes this {word}."));
        return fit(parts);
    }
    let p = &d.participation;
    let pts = participation_points(d);
    parts.push(format!(
        "Participation: {} notes from {} reps this {word} \
         ({} notes and {} reps the {word} before).",
        num(p.notes.now),
        num(p.reps_sharing.now),
        num(p.notes.previous),
        num(p.reps_sharing.previous),
    ));
    if pts.len() > 1 {
        let series = |f: fn(&(String, u64, u64)) -> u64| {
            pts.iter()
                .map(|p| format!("{} {}", p.0, f(p)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        parts.push(format!("Notes per {word}: {}.", series(|p| p.1)));
        parts.push(format!("Reps sharing per {word}: {}.", series(|p| p.2)));
    }
    let items = top_rising(d);
    if items.is_empty() {
        parts.push(format!(
            "Nothing rose or appeared beyond chance this {word}."
        ));
    } else {
        parts.push(format!(
            "Mentions per {word} of the top rising and new items:"
        ));
        for t in items {
            let hist: Vec<String> = item_history(t).iter().map(|v| v.to_string()).collect();
            parts.push(format!(
                "{} {}: {} this {word} (by {word}: {}).",
                direction_word(t.direction),
                short(&t.label, 40),
                t.mentions,
                hist.join(", ")
            ));
        }
    }
    fit(parts)
}

/// Joins sentences while they fit in [`ALT_TEXT_MAX`] characters.
fn fit(parts: Vec<String>) -> String {
    let mut out = String::new();
    for p in parts {
        let len = out.chars().count() + p.chars().count() + 1;
        if len > ALT_TEXT_MAX {
            if out.is_empty() {
                out = short(&p, ALT_TEXT_MAX);
            }
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&p);
    }
    out
}

/// Notes shared (bars) and reps sharing (line) per period, as SVG.
pub fn participation_svg(d: &Digest) -> String {
    let pts = participation_points(d);
    let word = period_word(d);
    let series: Vec<String> = pts
        .iter()
        .map(|p| format!("{} {} notes, {} reps", p.0, p.1, p.2))
        .collect();
    let label = format!(
        "Chart: notes shared and reps sharing per {word}, oldest first: {}.",
        series.join("; ")
    );
    svg(420, 270, &label, |area| {
        participation_chart(area, d, &SVG_STYLE)
    })
}

/// One trend item's mentions per period, this period highlighted.
pub fn trend_svg(d: &Digest, t: &TrendItem) -> String {
    let hist = item_history(t);
    let labels = period_labels(d, hist.len());
    let series: Vec<String> = labels
        .iter()
        .zip(&hist)
        .map(|(l, v)| format!("{l} {v}"))
        .collect();
    let label = format!(
        "Chart: mentions of {} per {}, oldest first: {}.",
        t.label,
        period_word(d),
        series.join(", ")
    );
    svg(320, 150, &label, |area| {
        item_chart(area, d, t, &SMALL_STYLE)
    })
}

/// Worked, didn't and used without a verdict per marketing asset, as
/// horizontal stacked bars.
pub fn assets_svg(d: &Digest) -> String {
    let rows: Vec<String> = d
        .assets
        .iter()
        .map(|a| {
            format!(
                "{}: worked {}, didn't {}, used with no verdict {}",
                a.label, a.worked, a.flopped, a.used
            )
        })
        .collect();
    let label = if rows.is_empty() {
        "Chart: no marketing asset was rated.".to_string()
    } else {
        format!(
            "Chart: marketing assets, what worked and what didn't. {}.",
            rows.join("; ")
        )
    };
    let n = d.assets.len().max(1) as u32;
    let height = (SVG_STYLE.legend + 16) + SVG_STYLE.x_area + 24 + 34 * n.min(MAX_ASSETS as u32);
    svg(420, height, &label, |area| {
        assets_chart(area, d, &SVG_STYLE)
    })
}

/// Draws into an SVG string and makes it accessible: `role="img"`, an
/// `aria-label` and a `<title>` (escaped here; plotters escapes the text
/// it draws). Empty if drawing failed.
fn svg(
    w: u32,
    h: u32,
    label: &str,
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Res,
) -> String {
    if !font_ready() {
        return String::new();
    }
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (w, h)).into_drawing_area();
        let drawn = root.fill(&WHITE).map_err(Into::into);
        if let Err(e) = drawn
            .and_then(|()| draw(&root))
            .and_then(|()| Ok(root.present()?))
        {
            tracing::warn!(error = %e, "drawing an SVG chart of the digest");
            return String::new();
        }
    }
    let label = short(label, 2000);
    let esc = maud::html! { (label) }.into_string();
    match s.find("<svg") {
        Some(i) => match s[i..].find('>') {
            Some(j) => format!(
                "{}<svg class=\"chart\" role=\"img\" aria-label=\"{esc}\"{}><title>{esc}</title>{}",
                &s[..i],
                &s[i + 4..i + j],
                &s[i + j + 1..]
            ),
            None => String::new(),
        },
        None => String::new(),
    }
}

/// Notes as bars and reps as a line over the periods.
fn participation_chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    d: &Digest,
    s: &Style,
) -> Res
where
    DB::ErrorType: 'static,
{
    let pts = participation_points(d);
    let labels: Vec<String> = pts.iter().map(|p| p.0.clone()).collect();
    let word = period_word(d);
    let area = caption(area, &format!("Participation per {word}"), s)?;
    let area = legend(
        &area,
        &[
            ("Notes shared".to_string(), BLUE_C, Mark::Bar),
            ("Reps sharing".to_string(), ORANGE_C, Mark::Line),
        ],
        s,
    )?;
    let max = pts.iter().map(|p| p.1.max(p.2)).max().unwrap_or(0);
    let mut chart = periods_chart(&area, &labels, max as f64, word, "notes / reps", s)?;
    chart.draw_series(pts.iter().enumerate().map(|(i, p)| bar(i, p.1, BLUE_C)))?;
    line(&mut chart, 0, pts.iter().map(|p| p.2), ORANGE_C, s)?;
    Ok(())
}

/// The top rising and new items as lines over the periods.
fn trends_chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    d: &Digest,
    items: &[&TrendItem],
    s: &Style,
) -> Res
where
    DB::ErrorType: 'static,
{
    let word = period_word(d);
    let hists: Vec<Vec<u64>> = items.iter().map(|t| item_history(t)).collect();
    let n = hists.iter().map(Vec::len).max().unwrap_or(1).max(1);
    let labels = period_labels(d, n);
    let area = caption(area, &format!("Rising and new: mentions per {word}"), s)?;
    let entries: Vec<(String, RGBColor, Mark)> = items
        .iter()
        .zip(TREND_COLOURS.iter().cycle())
        .map(|(t, c)| {
            let text = format!("{}: {}", direction_word(t.direction), t.label);
            (short(&text, LABEL_CHARS), *c, Mark::Line)
        })
        .collect();
    let area = legend(&area, &entries, s)?;
    let max = hists.iter().flatten().copied().max().unwrap_or(0);
    let mut chart = periods_chart(&area, &labels, max as f64, word, "mentions", s)?;
    for (h, c) in hists.iter().zip(TREND_COLOURS.iter().cycle()) {
        // Right-aligned: every history ends with this period.
        line(&mut chart, n - h.len(), h.iter().copied(), *c, s)?;
    }
    Ok(())
}

/// One item's mentions per period as columns: the baseline grey, this
/// period in the direction's colour, with counts when they fit.
fn item_chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    d: &Digest,
    t: &TrendItem,
    s: &Style,
) -> Res
where
    DB::ErrorType: 'static,
{
    let hist = item_history(t);
    let n = hist.len();
    let labels = period_labels(d, n);
    let max = hist.iter().copied().max().unwrap_or(0);
    let colour = match t.direction {
        Direction::Rising => VERMILLION_C,
        Direction::New => GREEN_C,
        Direction::Falling => BLUE_C,
    };
    // Room above the tallest column for its count.
    let mut chart = periods_chart(area, &labels, max as f64 * 1.2, "", "", s)?;
    chart.draw_series(hist.iter().enumerate().map(|(i, v)| {
        let c = if i + 1 == n { colour } else { GREY_C };
        bar(i, *v, c)
    }))?;
    let count_style = TextStyle::from((FONT, s.tick).into_font())
        .color(&INK_C)
        .pos(Pos::new(HPos::Center, VPos::Bottom));
    // Every count when there are few columns, else this period's alone.
    let labelled = hist
        .iter()
        .enumerate()
        .filter(|(i, _)| n <= 8 || i + 1 == n);
    chart.draw_series(labelled.map(|(i, v)| {
        Text::new(
            compact(*v as f64),
            (i as f64, *v as f64),
            count_style.clone(),
        )
    }))?;
    Ok(())
}

/// Horizontal stacked bars: worked, didn't, used with no verdict.
fn assets_chart<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &Digest, s: &Style) -> Res
where
    DB::ErrorType: 'static,
{
    let area = legend(
        area,
        &[
            ("Worked".to_string(), GREEN_C, Mark::Bar),
            ("Didn't".to_string(), VERMILLION_C, Mark::Bar),
            ("Used, no verdict".to_string(), GREY_C, Mark::Bar),
        ],
        s,
    )?;
    let assets: Vec<&AssetRollup> = d.assets.iter().take(MAX_ASSETS).collect();
    let n = assets.len().max(1);
    // Top to bottom in the digest's order: the first asset is row n−1.
    let labels: Vec<String> = (0..n)
        .map(|i| {
            assets
                .get(n - 1 - i)
                .map(|a| short(&a.label, 22))
                .unwrap_or_default()
        })
        .collect();
    let tick = TextStyle::from((FONT, s.tick).into_font());
    let widest = labels
        .iter()
        .filter_map(|l| area.estimate_text_size(l, &tick).ok())
        .map(|(w, _)| w)
        .max()
        .unwrap_or(0);
    let total = |a: &AssetRollup| a.worked as f64 + a.flopped as f64 + a.used as f64;
    let max = assets.iter().map(|a| total(a)).fold(0.0, f64::max);
    let (right, x_ticks) = axis(max, 5);
    let rows: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let mut chart = ChartBuilder::on(&area)
        .margin(s.margin)
        .margin_right(s.margin + 16)
        .x_label_area_size(s.x_area)
        .y_label_area_size((widest + 14).clamp(40, 240))
        .build_cartesian_2d(
            Ticks::new(0.0..right, x_ticks),
            Ticks::new(-0.5..n as f64 - 0.5, rows),
        )?;
    let fmt_y = |v: &f64| period_label(*v, &labels, 1);
    chart
        .configure_mesh()
        .disable_y_mesh()
        .bold_line_style(GRID_C)
        .axis_style(GREY_C)
        .y_label_formatter(&fmt_y)
        .x_label_formatter(&|v| compact(*v))
        .x_desc("ratings and uses")
        .label_style((FONT, s.tick).into_font().color(&INK_C))
        .axis_desc_style((FONT, s.desc).into_font().color(&INK_C))
        .draw()?;
    for (j, a) in assets.iter().enumerate() {
        let y = (n - 1 - j) as f64;
        let mut x = 0f64;
        for (v, c) in [
            (a.worked, GREEN_C),
            (a.flopped, VERMILLION_C),
            (a.used, GREY_C),
        ] {
            if v == 0 {
                continue;
            }
            let x1 = x + v as f64;
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x, y - 0.32), (x1, y + 0.32)],
                c.filled(),
            )))?;
            x = x1;
        }
    }
    Ok(())
}

/// Draws a caption at the top of `area` and returns the rest.
fn caption<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    s: &Style,
) -> Result<DrawingArea<DB, Shift>, Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    Ok(area.titled(text, (FONT, s.caption).into_font().color(&INK_C))?)
}

#[derive(Clone, Copy)]
enum Mark {
    Bar,
    Line,
}

/// Draws a legend in rows at the top of `area` (never over the data) and
/// returns the rest.
fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, RGBColor, Mark)],
    s: &Style,
) -> Result<DrawingArea<DB, Shift>, Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    let font = (FONT, s.legend).into_font();
    let measure = TextStyle::from(font.clone());
    let width = area.dim_in_pixel().0 as i32;
    let row_h = s.legend as i32 + 8;
    let key = s.legend as i32 + 6;
    let left = s.margin as i32 + 4;
    let mut placed = Vec::new();
    let (mut x, mut row) = (left, 0);
    for (text, colour, mark) in entries {
        let w = area
            .estimate_text_size(text, &measure)
            .map(|(w, _)| w as i32)
            .unwrap_or(0);
        let need = key + 6 + w + 18;
        if x > left && x + need > width {
            x = left;
            row += 1;
        }
        placed.push((x, row, text, *colour, *mark));
        x += need;
    }
    let rows = if entries.is_empty() { 0 } else { row + 1 };
    let (top, rest) = area.split_vertically((rows * row_h + 4).max(0) as u32);
    let style = font.color(&INK_C).pos(Pos::new(HPos::Left, VPos::Center));
    for (x, row, text, colour, mark) in placed {
        let cy = row * row_h + row_h / 2;
        match mark {
            Mark::Bar => {
                top.draw(&Rectangle::new(
                    [(x, cy - key / 2 + 2), (x + key - 4, cy + key / 2 - 2)],
                    colour.filled(),
                ))?;
            }
            Mark::Line => {
                top.draw(&PathElement::new(
                    vec![(x, cy), (x + key, cy)],
                    colour.stroke_width(s.line),
                ))?;
                top.draw(&Circle::new((x + key / 2, cy), s.dot, colour.filled()))?;
            }
        }
        top.draw_text(text, &style, (x + key + 6, cy))?;
    }
    Ok(rest)
}

/// A linear axis whose ticks are ours: on periods, or on whole counts.
#[derive(Clone)]
struct Ticks {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Ticks {
    fn new(range: Range<f64>, ticks: Vec<f64>) -> Ticks {
        Ticks {
            lo: range.start,
            hi: range.end,
            ticks,
        }
    }
}

impl Ranged for Ticks {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let span = self.hi - self.lo;
        if !(span > 0.0 && span.is_finite() && v.is_finite()) {
            return limit.0;
        }
        let px = limit.0 as f64 + (v - self.lo) / span * (limit.1 - limit.0) as f64;
        px.clamp(-1e6, 1e6) as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// Periods along x (period `i` at `i`), counts up the y axis.
type Periods<'a, DB> = ChartContext<'a, DB, Cartesian2d<Ticks, Ticks>>;

/// A chart over the periods in `labels` whose values reach `max`, with
/// its axes and grid drawn.
fn periods_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    labels: &[String],
    max: f64,
    x_desc: &str,
    y_desc: &str,
    s: &Style,
) -> Result<Periods<'a, DB>, Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    let n = labels.len().max(1);
    let (top, y_ticks) = axis(max, 6);
    let xs: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let tick = TextStyle::from((FONT, s.tick).into_font());
    let width = |t: &str| area.estimate_text_size(t, &tick).map_or(0, |(w, _)| w);
    // Room for the longest count on the left, half the last period's
    // label on the right.
    let y_area = s
        .y_area
        .max(width(&compact(top)) + 12 + if y_desc.is_empty() { 0 } else { s.desc + 8 });
    let right = (s.margin + 8).max(labels.last().map_or(0, |l| width(l) / 2 + 4));
    let mut chart = ChartBuilder::on(area)
        .margin(s.margin)
        .margin_right(right)
        .x_label_area_size(if x_desc.is_empty() {
            s.x_area * 3 / 5
        } else {
            s.x_area
        })
        .y_label_area_size(y_area)
        .build_cartesian_2d(
            Ticks::new(-0.5..n as f64 - 0.5, xs),
            Ticks::new(0.0..top, y_ticks),
        )?;
    // As many period labels as fit side by side; the current one always.
    let widest = labels.iter().map(|l| width(l)).max().unwrap_or(0);
    let plot_w = area
        .dim_in_pixel()
        .0
        .saturating_sub(y_area + right + s.margin);
    let fit = (plot_w / (widest + 14)).max(1) as usize;
    let step = label_step(n, fit.min(s.max_x_labels));
    let fmt_x = |v: &f64| period_label(*v, labels, step);
    let mut mesh = chart.configure_mesh();
    mesh.disable_x_mesh()
        .bold_line_style(GRID_C)
        .axis_style(GREY_C)
        .x_label_formatter(&fmt_x)
        .y_label_formatter(&|v| compact(*v))
        .label_style((FONT, s.tick).into_font().color(&INK_C))
        .axis_desc_style((FONT, s.desc).into_font().color(&INK_C));
    if !x_desc.is_empty() {
        mesh.x_desc(x_desc);
    }
    if !y_desc.is_empty() {
        mesh.y_desc(y_desc);
    }
    mesh.draw()?;
    Ok(chart)
}

/// A column for period `i`.
fn bar(i: usize, v: u64, c: RGBColor) -> Rectangle<(f64, f64)> {
    let x = i as f64;
    Rectangle::new([(x - 0.36, 0.0), (x + 0.36, v as f64)], c.filled())
}

/// A line with a dot per period, starting at period `from`.
fn line<DB: DrawingBackend>(
    chart: &mut Periods<'_, DB>,
    from: usize,
    values: impl Iterator<Item = u64>,
    c: RGBColor,
    s: &Style,
) -> Res
where
    DB::ErrorType: 'static,
{
    let pts: Vec<(f64, f64)> = values
        .enumerate()
        .map(|(i, v)| ((from + i) as f64, v as f64))
        .collect();
    chart.draw_series(LineSeries::new(pts.clone(), c.stroke_width(s.line)))?;
    chart.draw_series(pts.into_iter().map(|p| Circle::new(p, s.dot, c.filled())))?;
    Ok(())
}

/// The label at position `v`: every `step`-th period counted back from the
/// last, so the current period is always named.
fn period_label(v: f64, labels: &[String], step: usize) -> String {
    let i = v.round();
    if (v - i).abs() > 1e-6 || i < 0.0 {
        return String::new();
    }
    let i = i as usize;
    let back = labels.len().saturating_sub(1 + i);
    if back.is_multiple_of(step.max(1)) {
        labels.get(i).cloned().unwrap_or_default()
    } else {
        String::new()
    }
}

fn label_step(n: usize, max_labels: usize) -> usize {
    n.div_ceil(max_labels.max(1)).max(1)
}

/// A count axis reaching at least `max`: its top and its ticks, at most
/// `max_ticks` of them, on whole numbers with a round step (1, 2, 5 × 10ⁿ).
fn axis(max: f64, max_ticks: usize) -> (f64, Vec<f64>) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        0.0
    };
    let intervals = max_ticks.max(2) as f64 - 1.0;
    let raw = (max / intervals).max(1.0);
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let steps = (max / step).ceil().max(1.0);
    let top = steps * step;
    let ticks = (0..=steps as usize).map(|k| k as f64 * step).collect();
    (top, ticks)
}

/// 12, 3.4k, 12M: short enough for an axis.
fn compact(v: f64) -> String {
    let a = v.abs();
    if a >= 1e15 {
        return format!("{v:.1e}");
    }
    let (x, suffix) = if a >= 1e12 {
        (v / 1e12, "T")
    } else if a >= 1e9 {
        (v / 1e9, "B")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e4 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    if x.fract().abs() < 0.05 || x.abs() >= 100.0 {
        format!("{:.0}{suffix}", x)
    } else {
        format!("{:.1}{suffix}", x)
    }
}

/// At most `max` characters, with an ellipsis when cut.
fn short(s: &str, max: usize) -> String {
    let s = s.replace(['\n', '\r', '\t'], " ");
    if s.chars().count() <= max {
        s
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// "week", "month" or "period".
fn period_word(d: &Digest) -> &'static str {
    match d.period.kind.as_str() {
        "week" => "week",
        "month" => "month",
        _ => "period",
    }
}

/// (label, notes, reps) per period, oldest first; this period alone when
/// the digest has no history.
fn participation_points(d: &Digest) -> Vec<(String, u64, u64)> {
    let h = &d.participation.history;
    if h.is_empty() {
        vec![(
            short(&d.period.key, 12),
            d.participation.notes.now as u64,
            d.participation.reps_sharing.now as u64,
        )]
    } else {
        h.iter()
            .map(|p| (short(&p.label, 12), p.notes, p.reps))
            .collect()
    }
}

/// The labels of the last `n` periods, oldest first, from the
/// participation history (right-aligned: the last is this period);
/// periods it does not cover are counted back ("−3").
fn period_labels(d: &Digest, n: usize) -> Vec<String> {
    let h = &d.participation.history;
    (0..n)
        .map(|i| {
            let back = n - 1 - i;
            if back < h.len() {
                short(&h[h.len() - 1 - back].label, 12)
            } else if back == 0 {
                short(&d.period.key, 12)
            } else {
                format!("−{back}")
            }
        })
        .collect()
}

/// An item's mentions per period; this period's count alone when it has
/// no history.
fn item_history(t: &TrendItem) -> Vec<u64> {
    if t.history.is_empty() {
        vec![t.mentions]
    } else {
        t.history.clone()
    }
}

/// The strongest rising and new items (the PNG's right panel).
fn top_rising(d: &Digest) -> Vec<&TrendItem> {
    d.trends
        .iter()
        .filter(|t| t.direction != Direction::Falling)
        .take(PNG_TRENDS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::html::tests::{anonymous, empty, odd, sample};

    /// Decodes a PNG and returns its width and height, after checking the
    /// signature and the IHDR chunk by hand too.
    fn decode(png: &[u8]) -> (u32, u32) {
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        let ihdr = (
            u32::from_be_bytes(png[16..20].try_into().unwrap()),
            u32::from_be_bytes(png[20..24].try_into().unwrap()),
        );
        let mut reader = png::Decoder::new(std::io::Cursor::new(png))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), ihdr);
        // Something was drawn: not a blank page.
        assert!(buf.iter().filter(|&&b| b < 128).count() > 1000);
        ihdr
    }

    #[test]
    fn png_decodes_at_its_size() {
        for d in [sample(), anonymous(), odd()] {
            let png = png(&d).expect("a chart");
            assert_eq!(decode(&png), (PNG_WIDTH, PNG_HEIGHT));
        }
        let mut d = sample();
        d.trends.retain(|t| t.direction == Direction::Falling);
        assert_eq!(decode(&png(&d).unwrap()), (PNG_WIDTH, PNG_HEIGHT));
    }

    #[test]
    fn no_png_for_an_empty_digest() {
        assert_eq!(png(&empty()), None);
        assert!(alt_text(&empty()).contains("No notes this week."));
    }

    #[test]
    fn alt_text_states_the_key_numbers_within_slacks_limit() {
        let a = alt_text(&sample());
        assert!(a.chars().count() <= ALT_TEXT_MAX, "{}", a.len());
        for s in [
            "Weekly field digest, week 48, 23–29 Nov 2026.",
            "31 notes from 9 reps this week (26 notes and 8 reps the week before)",
            "Notes per week: W44 22, W45 19, W46 25, W47 26, W48 31.",
            "Reps sharing per week: W44 7, W45 6, W46 8, W47 8, W48 9.",
            "Rising Price too high: 9 this week (by week: 2, 1, 2, 2, 9).",
            "New Northwind Analytics: 5 this week (by week: 0, 0, 0, 0, 5).",
        ] {
            assert!(a.contains(s), "{s:?} in {a}");
        }
        assert!(
            !a.contains("Security review"),
            "falling items are not drawn"
        );
        let mut d = odd();
        for _ in 0..50 {
            d.trends.push(d.trends[0].clone());
        }
        d.participation.history = (0..200)
            .map(|i| PeriodPoint {
                period: format!("p{i}"),
                label: format!("period number {i}"),
                notes: u64::MAX - i,
                reps: i,
            })
            .collect();
        assert!(alt_text(&d).chars().count() <= ALT_TEXT_MAX);
    }

    #[test]
    fn svgs_are_labelled_and_escape_text() {
        let mut d = sample();
        d.trends[0].label = "Price <b>too</b> \"high\" & more".into();
        d.assets[0].label = "<script>alert(1)</script>".into();
        for svg in [
            trend_svg(&d, &d.trends[0]),
            participation_svg(&d),
            assets_svg(&d),
        ] {
            assert!(
                svg.starts_with("<svg class=\"chart\" role=\"img\" aria-label=\"Chart: "),
                "{svg:.200}"
            );
            assert!(svg.contains("<title>Chart: "));
            assert!(!svg.contains("<b>") && !svg.contains("<script>"));
        }
        let t = trend_svg(&d, &d.trends[0]);
        assert!(t.contains(
            "Price &lt;b&gt;too&lt;/b&gt; &quot;high&quot; &amp; more per week, \
             oldest first: W44 2, W45 1, W46 2, W47 2, W48 9."
        ));
        let a = assets_svg(&d);
        assert!(a.contains("&lt;script&gt;"));
    }

    #[test]
    fn odd_inputs_draw_without_panicking() {
        let d = odd();
        assert!(png(&d).is_some());
        assert!(!participation_svg(&d).is_empty());
        assert!(!assets_svg(&d).is_empty());
        for t in &d.trends {
            assert!(!trend_svg(&d, t).is_empty(), "{}", t.key);
        }
        // No history at all, one period, zeros everywhere.
        let mut d = sample();
        d.participation.history.clear();
        d.assets.clear();
        for t in &mut d.trends {
            t.history = vec![0];
            t.mentions = 0;
        }
        assert!(decode(&png(&d).unwrap()).0 == PNG_WIDTH);
        assert!(!participation_svg(&d).is_empty());
        assert!(assets_svg(&d).contains("no marketing asset was rated"));
        assert!(!trend_svg(&d, &d.trends[0]).is_empty());
        // Many periods and many assets.
        let mut d = sample();
        d.participation.history = (0..60)
            .map(|i| PeriodPoint {
                period: format!("p{i}"),
                label: format!("W{i}"),
                notes: i * 3,
                reps: i,
            })
            .collect();
        d.trends[0].history = (0..60).collect();
        for i in 0..50 {
            let mut a = d.assets[0].clone();
            a.label = format!("asset {i}");
            d.assets.push(a);
        }
        assert!(png(&d).is_some());
        assert!(!assets_svg(&d).is_empty());
        assert!(!trend_svg(&d, &d.trends[0]).is_empty());
    }

    #[test]
    fn axis_helpers() {
        assert_eq!(axis(0.0, 5), (1.0, vec![0.0, 1.0]));
        assert_eq!(axis(f64::NAN, 5), (1.0, vec![0.0, 1.0]));
        assert_eq!(axis(3.0, 5), (3.0, vec![0.0, 1.0, 2.0, 3.0]));
        assert_eq!(axis(9.0, 5), (10.0, vec![0.0, 5.0, 10.0]));
        assert_eq!(axis(31.0, 5), (40.0, vec![0.0, 10.0, 20.0, 30.0, 40.0]));
        let (top, ticks) = axis(u64::MAX as f64, 5);
        assert!(top >= u64::MAX as f64 && ticks.len() <= 5);
        assert_eq!(compact(12.0), "12");
        assert_eq!(compact(12_345.0), "12.3k");
        assert_eq!(compact(2.5e6), "2.5M");
        assert_eq!(compact(u64::MAX as f64), "1.8e19");
        assert_eq!(short("abcdef", 4), "abc…");
        let d = sample();
        assert_eq!(period_labels(&d, 3), ["W46", "W47", "W48"]);
        assert_eq!(
            period_labels(&d, 7),
            ["−6", "−5", "W44", "W45", "W46", "W47", "W48"]
        );
        let labels = period_labels(&d, 5);
        let shown: Vec<String> = (0..5).map(|i| period_label(i as f64, &labels, 2)).collect();
        assert_eq!(shown, ["W44", "", "W46", "", "W48"]);
        assert_eq!(period_label(0.5, &labels, 1), "");
        assert_eq!(period_label(-1.0, &labels, 1), "");
        assert_eq!(period_label(9.0, &labels, 1), "");
    }
}
