//! The evaluation report: an HTML page with SVG plots (plotters) of the training and
//! validation loss per epoch and of the tuning history, plus the test scores.

use super::scores::Scores;
use plotters::prelude::*;

/// One line of a plot.
pub struct Series<'a> {
    pub label: &'a str,
    pub points: Vec<(f64, f64)>,
    pub color: RGBColor,
}

/// An SVG line chart.
pub fn line_chart(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> anyhow::Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 360)).into_drawing_area();
        root.fill(&WHITE)?;
        let points = series.iter().flat_map(|s| s.points.iter());
        let (mut x_min, mut x_max, mut y_min, mut y_max) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(x, y) in points.filter(|(_, y)| y.is_finite()) {
            (x_min, x_max, y_min, y_max) = (x_min.min(x), x_max.max(x), y_min.min(y), y_max.max(y));
        }
        if x_min > x_max {
            (x_min, x_max, y_min, y_max) = (0.0, 1.0, 0.0, 1.0);
        }
        let pad = ((y_max - y_min) * 0.05).max(1e-9);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(x_min..x_max.max(x_min + 1e-9), (y_min - pad)..(y_max + pad))?;
        chart.configure_mesh().x_desc(x_label).y_desc(y_label).draw()?;
        for s in series {
            let color = s.color;
            chart
                .draw_series(LineSeries::new(s.points.iter().copied().filter(|(_, y)| y.is_finite()), color.stroke_width(2)))?
                .label(s.label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
            chart.draw_series(s.points.iter().filter(|(_, y)| y.is_finite()).map(|&p| Circle::new(p, 3, color.filled())))?;
        }
        chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()?;
        root.present()?;
    }
    Ok(svg)
}

/// The whole page.
pub fn html(curves_svg: &str, tuning_svg: &str, scores: &Scores, summary: &[(String, String)]) -> String {
    let rows: String =
        summary.iter().map(|(k, v)| format!("<tr><th>{}</th><td>{}</td></tr>", escape(k), escape(v))).collect();
    let [[tn, fp], [fn_, tp]] = scores.confusion;
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Model evaluation</title>\
<style>body{{font-family:sans-serif;margin:24px}}table{{border-collapse:collapse}}th,td{{border:1px solid #ccc;padding:4px 8px;text-align:left}}</style></head><body>\n\
<h1>Model evaluation</h1>\n<h2>Test scores</h2>\n<table>\
<tr><th>accuracy</th><td>{:.4}</td></tr><tr><th>ROC AUC</th><td>{:.4}</td></tr>{rows}</table>\n\
<h2>Confusion matrix (rows: actual, columns: predicted)</h2>\n<table><tr><th></th><th>not good</th><th>good</th></tr>\
<tr><th>not good</th><td>{tn}</td><td>{fp}</td></tr><tr><th>good</th><td>{fn_}</td><td>{tp}</td></tr></table>\n\
<h2>Training</h2>\n{curves_svg}\n<h2>Tuning</h2>\n{tuning_svg}\n</body></html>\n",
        scores.accuracy, scores.auc
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_svg_with_every_series() {
        let svg = line_chart(
            "Loss",
            "epoch",
            "loss",
            &[
                Series { label: "train_loss", points: vec![(1.0, 0.9), (2.0, 0.5)], color: BLUE },
                Series { label: "val_loss", points: vec![(1.0, 1.0), (2.0, f64::NAN)], color: RED },
            ],
        )
        .unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(svg.contains("train_loss") && svg.contains("val_loss"));
    }
}
