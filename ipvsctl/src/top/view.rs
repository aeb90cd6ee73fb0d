//! Draws an [`App`] on a ratatui frame: a title line, the table, the totals, the history of
//! the selected line and a line of keys. 80x24 shows every column but the history one, which
//! a terminal of 100 columns or more adds; more lines show more of the table. Without colour
//! (`NO_COLOR`) only bold, underline and reverse video mark things.

use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line as TextLine, Span};
use ratatui::widgets::{
    Block, Borders, Cell, Clear, Paragraph, Row as TableRow, Sparkline, Table, TableState,
};
use ratatui::Frame;

use super::app::{App, Line, HELP};
use ipvs::sampler::SeriesKey;

use super::model::{compact, count, sparkline, Column, Row};

/// From this width on, the table has a history column.
pub const WIDE: u16 = 100;

/// From this height on, the selected line's history is drawn under the table.
const TALL: u16 = 16;

/// The columns of a terminal `width` wide, and their widths; `health`: with healthd's.
fn columns(width: u16, health: bool) -> Vec<(Column, Constraint)> {
    let mut cols = vec![
        (Column::Name, Constraint::Min(20)),
        // Numbers take at most 4 characters (`compact`); a heading may take more.
        (Column::Forward, Constraint::Length(6)),
        (Column::Weight, Constraint::Length(4)),
        (Column::Active, Constraint::Length(4)),
        (Column::Inactive, Constraint::Length(5)),
        (Column::Conns, Constraint::Length(4)),
        (Column::InPackets, Constraint::Length(5)),
        (Column::OutPackets, Constraint::Length(6)),
        (Column::InBytes, Constraint::Length(5)),
        (Column::OutBytes, Constraint::Length(6)),
    ];
    if health {
        cols.insert(3, (Column::Health, Constraint::Length(4)));
    }
    if width >= WIDE {
        cols.push((Column::History, Constraint::Length(history_width(width))));
    }
    cols
}

/// The history column's width: 10, and half of what is past [`WIDE`] columns, up to 60.
fn history_width(width: u16) -> u16 {
    (10 + (width.saturating_sub(WIDE)) / 2).min(60)
}

struct Styles {
    title: Style,
    header: Style,
    sorted: Style,
    selected: Style,
    badge: Style,
    error: Style,
    spark: Style,
}

impl Styles {
    fn new(color: bool) -> Styles {
        let bold = Style::default().add_modifier(Modifier::BOLD);
        if color {
            Styles {
                title: Style::default().fg(Color::White).bg(Color::Blue),
                header: bold.fg(Color::Yellow),
                sorted: bold.fg(Color::Yellow).add_modifier(Modifier::UNDERLINED),
                selected: Style::default().add_modifier(Modifier::REVERSED),
                badge: bold.fg(Color::Black).bg(Color::Yellow),
                error: bold.fg(Color::Red),
                spark: Style::default().fg(Color::Green),
            }
        } else {
            Styles {
                title: Style::default().add_modifier(Modifier::REVERSED),
                header: bold,
                sorted: bold.add_modifier(Modifier::UNDERLINED),
                selected: Style::default().add_modifier(Modifier::REVERSED),
                badge: bold,
                error: bold,
                spark: Style::default(),
            }
        }
    }
}

/// The text of one cell.
fn cell_text(app: &App, line: Option<&Line<'_>>, row: &Row, column: Column, width: u16) -> String {
    let scale = if app.bits { 8.0 } else { 1.0 };
    let rate = |f: fn(&ipvs::sampler::Rates) -> f64| {
        row.rates
            .as_ref()
            .map_or("-".to_string(), |r| compact(f(r)))
    };
    match column {
        Column::Name => match line {
            Some(l) if l.destination => format!("  -> {}", row.name),
            Some(l) if l.expandable && l.expanded => format!("▾ {}", row.name),
            Some(l) if l.expandable => format!("▸ {}", row.name),
            _ => format!("  {}", row.name),
        },
        Column::Forward => row.forward.unwrap_or("").to_string(),
        Column::Weight => row.weight.map_or(String::new(), |w| compact(w.into())),
        Column::Active => compact(row.active as f64),
        Column::Inactive => compact(row.inactive as f64),
        Column::Conns => rate(|r| r.conns),
        Column::InPackets => rate(|r| r.in_packets),
        Column::OutPackets => rate(|r| r.out_packets),
        Column::InBytes => row
            .rates
            .as_ref()
            .map_or("-".to_string(), |r| compact(r.in_bytes * scale)),
        Column::OutBytes => row
            .rates
            .as_ref()
            .map_or("-".to_string(), |r| compact(r.out_bytes * scale)),
        Column::History => sparkline(row.recent(), width.into()),
        Column::Health => row.health.map_or(String::new(), |h| h.text()),
    }
}

fn cells<'a>(
    app: &App,
    line: Option<&Line<'_>>,
    row: &Row,
    cols: &[(Column, Constraint)],
    widths: &[u16],
) -> Vec<Cell<'a>> {
    cols.iter()
        .zip(widths)
        .map(|((c, _), w)| {
            let text = cell_text(app, line, row, *c, *w);
            let l = TextLine::from(text);
            let cell = Cell::from(if numeric(*c) {
                l.alignment(Alignment::Right)
            } else {
                l
            });
            // Connections from an earlier read (a big table's service off the screen until
            // now) are dim until read again.
            if row.stale && matches!(c, Column::Active | Column::Inactive) {
                cell.style(Style::default().add_modifier(Modifier::DIM))
            } else {
                cell
            }
        })
        .collect()
}

fn numeric(c: Column) -> bool {
    !matches!(
        c,
        Column::Name | Column::Forward | Column::History | Column::Health
    )
}

/// The first of `len` lines to show in `height` lines: the previous one (`offset`) moved
/// just enough to show the `selected` line, and no further down than needed to fill the screen.
fn window(offset: usize, selected: Option<usize>, len: usize, height: u16) -> usize {
    let height = usize::from(height).max(1);
    let mut first = offset.min(len.saturating_sub(height));
    if let Some(i) = selected {
        if i < first {
            first = i;
        } else if i >= first + height {
            first = i + 1 - height;
        }
    }
    first
}

/// Draws the whole screen.
pub fn draw(frame: &mut Frame<'_>, app: &mut App) {
    let area = frame.area();
    let styles = Styles::new(app.color);
    let spark_height = if area.height >= TALL { 3 } else { 0 };
    let totals_height = u16::from(app.totals);
    let [title_area, table_area, totals_area, spark_area, footer_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(2),
        Constraint::Length(totals_height),
        Constraint::Length(spark_height),
        Constraint::Length(1),
    ])
    .areas(area);

    draw_title(frame, app, &styles, title_area);

    let cols = columns(area.width, app.healthd);
    let constraints: Vec<Constraint> = cols.iter().map(|(_, c)| *c).collect();
    // The widths ratatui gives the columns, for the history column's sparkline.
    let widths: Vec<u16> = Layout::horizontal(constraints.clone())
        .spacing(1)
        .split(Rect::new(0, 0, area.width, 1))
        .iter()
        .map(|r| r.width)
        .collect();
    let lines = app.lines();
    let selected = app.selected_index(&lines);
    let header = TableRow::new(cols.iter().map(|(c, _)| {
        let l = TextLine::from(c.title(app.bits));
        let l = if numeric(*c) {
            l.alignment(Alignment::Right)
        } else {
            l
        };
        let style = if *c == app.sort {
            styles.sorted
        } else {
            styles.header
        };
        Cell::from(l).style(style)
    }));
    // Only the lines on the screen become table rows: with thousands of services, making
    // every row's cells each interval would cost more than reading the table.
    let offset = window(
        app.offset,
        selected,
        lines.len(),
        table_area.height.saturating_sub(1),
    );
    let shown = lines
        .iter()
        .skip(offset)
        .take(usize::from(table_area.height));
    // The services someone sees: their real servers are read every interval.
    let on_screen = shown
        .clone()
        .chain(selected.and_then(|i| lines.get(i)))
        .map(|l| service_of(l.row))
        .collect();
    let rows: Vec<TableRow<'_>> = shown
        .map(|l| {
            let row = TableRow::new(cells(app, Some(l), l.row, &cols, &widths));
            if l.destination {
                row
            } else {
                row.style(Style::default().add_modifier(Modifier::BOLD))
            }
        })
        .collect();
    let table = Table::new(rows, constraints.clone())
        .header(header)
        .column_spacing(1)
        .row_highlight_style(styles.selected);
    let mut state = TableState::default().with_selected(selected.map(|i| i - offset));
    frame.render_stateful_widget(table, table_area, &mut state);
    if lines.is_empty() && table_area.height > 1 {
        let text = if app.shown.services.is_empty() {
            "no virtual services"
        } else {
            "nothing matches the filter"
        };
        let [_, below] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(table_area);
        frame.render_widget(Paragraph::new(text).alignment(Alignment::Center), below);
    }

    if app.totals {
        let total = app.total();
        let table = Table::new(
            [TableRow::new(cells(app, None, &total, &cols, &widths))],
            constraints,
        )
        .column_spacing(1)
        .style(styles.header);
        frame.render_widget(table, totals_area);
    }

    if spark_height > 0 {
        if let Some(l) = selected.and_then(|i| lines.get(i)) {
            draw_history(frame, app, &styles, l.row, spark_area);
        }
    }

    draw_footer(frame, app, &styles, footer_area);

    if app.help {
        draw_help(frame, area, app.refresh);
    }
    app.on_screen = on_screen;
    app.offset = offset;
    app.page = usize::from(table_area.height.saturating_sub(1));
}

fn draw_title(frame: &mut Frame<'_>, app: &App, styles: &Styles, area: Rect) {
    let arrow = if app.descending { "▼" } else { "▲" };
    let mut right = vec![Span::raw(format!(
        " {}{} {} ",
        app.sort.title(app.bits),
        arrow,
        if app.bits { "bits/s" } else { "bytes/s" }
    ))];
    if app.paused {
        right.insert(0, Span::styled(" PAUSED", styles.badge));
    }
    let right_width: usize = right.iter().map(|s| s.content.chars().count()).sum();
    // The left part gives way to the right one: cut, with an ellipsis, where they would meet.
    let mut left = format!(
        " ipvsctl top · {} · {}, {}",
        app.context,
        count(app.shown.services.len(), "service"),
        count(app.shown.destinations(), "server")
    );
    let room = usize::from(area.width).saturating_sub(right_width + 1);
    if left.chars().count() > room {
        left = left
            .chars()
            .take(room.saturating_sub(1))
            .collect::<String>()
            + "…";
    }
    frame.render_widget(Paragraph::new(left).style(styles.title), area);
    frame.render_widget(
        Paragraph::new(TextLine::from(right))
            .alignment(Alignment::Right)
            .style(styles.title),
        area,
    );
}

/// The service of a line.
fn service_of(row: &Row) -> ipvs::ServiceKey {
    match row.key {
        SeriesKey::Service(k) | SeriesKey::Destination(k, ..) => k,
    }
}

fn draw_history(frame: &mut Frame<'_>, app: &App, styles: &Styles, row: &Row, area: Rect) {
    let [label, spark] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(2)]).areas(area);
    let width = usize::from(area.width);
    let recent = row.recent();
    let tail = &recent[recent.len().saturating_sub(width)..];
    let scale = if app.bits { 8.0 } else { 1.0 };
    let max = tail.iter().copied().fold(0.0_f64, f64::max) * scale;
    let unit = if app.bits { "bits/s" } else { "bytes/s" };
    frame.render_widget(
        Paragraph::new(format!(
            " {}: {unit} in+out, last {} reads, peak {}",
            row.name,
            tail.len(),
            compact(max)
        )),
        label,
    );
    // Sparkline wants integers: the rates rounded, their scale is its own.
    let data: Vec<u64> = tail.iter().map(|v| (v * scale).round() as u64).collect();
    frame.render_widget(Sparkline::default().data(&data).style(styles.spark), spark);
}

fn draw_footer(frame: &mut Frame<'_>, app: &App, styles: &Styles, area: Rect) {
    let line = if app.editing {
        TextLine::from(vec![
            Span::styled(" Filter: ", styles.header),
            Span::raw(format!("{}_", app.filter)),
            Span::raw("  (Enter keeps it, Esc clears it)"),
        ])
    } else if let Some(e) = &app.error {
        TextLine::from(Span::styled(format!(" {e}"), styles.error))
    } else {
        let mut spans = Vec::new();
        if !app.filter.is_empty() {
            spans.push(Span::styled(
                format!(" filter \"{}\"", app.filter),
                styles.header,
            ));
            spans.push(Span::raw(" (Esc clears) "));
        }
        spans.push(Span::raw(
            " q quit  ? help  Enter servers  < > sort  / filter  p pause  b bits  t totals",
        ));
        TextLine::from(spans)
    };
    frame.render_widget(Paragraph::new(line), area);
}

fn draw_help(frame: &mut Frame<'_>, area: Rect, refresh: Option<std::time::Duration>) {
    let mut help: Vec<(&str, String)> = HELP.iter().map(|(k, w)| (*k, w.to_string())).collect();
    if let Some(every) = refresh {
        // A big table: how old the connections of a service off the screen may be.
        help.push((
            "Act Inact (dim)",
            format!("off the screen: read every {} s", every.as_secs_f64()),
        ));
    }
    let width = 60.min(area.width);
    let height = (help.len() as u16 + 2).min(area.height);
    let popup = Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    );
    let text: Vec<TextLine<'_>> = help
        .iter()
        .map(|(keys, what)| TextLine::from(format!(" {keys:<16} {what}")))
        .collect();
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(text).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" ipvsctl top: keys "),
        ),
        popup,
    );
}
