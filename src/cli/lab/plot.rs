//! The failover gaps of `ha-lab bench` as a PNG: one row per stack and fault, one dot per
//! run (spread vertically so equal values stay visible), a bar at the median, on a log
//! scale of milliseconds so a 100 ms switchover and a 7 s failover fit one picture. Built
//! only with the `plot` feature; text is drawn with the system's DejaVu Sans.

use std::path::Path;

use anyhow::{Context, anyhow};
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::bench::StackFigures;
use crate::lab::gap;
use crate::lab::peers::Stack;

/// Where Debian's fonts-dejavu-core puts the font.
const FONT_PATH: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

fn color(stack: Stack) -> RGBColor {
    match stack {
        Stack::Hakit => RGBColor(31, 119, 180),
        Stack::Pacemaker => RGBColor(214, 39, 40),
        Stack::Keepalived => RGBColor(44, 160, 44),
    }
}

/// Draws every measured gap of `all` into `path` (PNG, 1000 px wide).
pub(super) fn draw_gaps(path: &Path, all: &[StackFigures]) -> anyhow::Result<()> {
    let font = std::fs::read(FONT_PATH)
        .with_context(|| format!("reading {FONT_PATH} (apt-get install fonts-dejavu-core)"))?;
    // The font registry wants bytes that live as long as the program: this runs once.
    let font: &'static [u8] = Box::leak(font.into_boxed_slice());
    plotters::style::register_font("sans-serif", FontStyle::Normal, font)
        .map_err(|_| anyhow!("{FONT_PATH} is not a usable font"))?;

    let rows: Vec<(String, Stack, Vec<u64>)> = all
        .iter()
        .flat_map(|figures| {
            figures.gaps.iter().map(|(fault, values)| {
                (
                    format!("{} {}", figures.stack.name(), fault.name()),
                    figures.stack,
                    values.clone(),
                )
            })
        })
        .collect();
    let max_ms = rows
        .iter()
        .flat_map(|(_, _, values)| values.iter().copied())
        .max()
        .unwrap_or(1000)
        .max(1000);
    let height = 120 + 60 * rows.len() as u32;
    let root = BitMapBackend::new(path, (1000, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let labels: Vec<String> = rows.iter().map(|(label, _, _)| label.clone()).collect();
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "Failover gap seen by a client asking the VIP every {} ms (one dot per run)",
                super::Poller::INTERVAL.as_millis()
            ),
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(170)
        .build_cartesian_2d(
            (20f64..(max_ms as f64 * 2.5)).log_scale(),
            -0.5f64..(rows.len() as f64 - 0.5),
        )
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .configure_mesh()
        .x_desc("gap (ms, log scale)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_labels(rows.len())
        .y_label_formatter(&|y| {
            let index = y.round();
            if (y - index).abs() < 0.01 && index >= 0.0 {
                labels.get(index as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    for (row, (_, stack, values)) in rows.iter().enumerate() {
        let style = color(*stack);
        let count = values.len().max(1) as f64;
        let dots = values.iter().enumerate().map(|(i, ms)| {
            // Spread the runs over the row so equal gaps do not hide each other.
            let offset = (i as f64 / count - 0.5) * 0.5;
            Circle::new(
                ((*ms).max(21) as f64, row as f64 + offset),
                4,
                style.mix(0.7).filled(),
            )
        });
        chart.draw_series(dots).map_err(|e| anyhow!("{e}"))?;
        if let Some(median) = gap::percentile(values, 50) {
            let x = median.max(21) as f64;
            chart
                .draw_series(LineSeries::new(
                    [(x, row as f64 - 0.35), (x, row as f64 + 0.35)],
                    style.stroke_width(3),
                ))
                .map_err(|e| anyhow!("{e}"))?;
            chart
                .draw_series([Text::new(
                    format!("p50 {median} ms"),
                    (x * 1.08, row as f64 + 0.3),
                    ("sans-serif", 14).into_font().color(&BLACK),
                )])
                .map_err(|e| anyhow!("{e}"))?;
        }
    }
    root.present().map_err(|e| anyhow!("{e}"))?;
    Ok(())
}
