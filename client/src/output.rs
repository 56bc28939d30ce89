//! Rendering API objects: an aligned table for people, JSON (the swagger field names) for scripts.

use crate::api::{Experiment, Pipeline, PipelineVersion, Run};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Table,
    Json,
}

/// An object that can be one row of a table.
pub trait Row {
    const HEADERS: &'static [&'static str];
    fn cells(&self) -> Vec<String>;
}

fn text(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

impl Row for Pipeline {
    const HEADERS: &'static [&'static str] = &["PIPELINE ID", "NAME", "CREATED AT"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.pipeline_id.clone(),
            self.display_name.clone(),
            text(&self.created_at),
        ]
    }
}

impl Row for PipelineVersion {
    const HEADERS: &'static [&'static str] = &["PIPELINE ID", "VERSION ID", "NAME", "CREATED AT"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.pipeline_id.clone(),
            self.pipeline_version_id.clone(),
            self.display_name.clone(),
            text(&self.created_at),
        ]
    }
}

impl Row for Experiment {
    const HEADERS: &'static [&'static str] = &["EXPERIMENT ID", "NAME", "CREATED AT"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.experiment_id.clone(),
            self.display_name.clone(),
            text(&self.created_at),
        ]
    }
}

impl Row for Run {
    const HEADERS: &'static [&'static str] = &["RUN ID", "NAME", "STATE", "CREATED AT"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.run_id.clone(),
            self.display_name.clone(),
            self.state.as_str().to_string(),
            text(&self.created_at),
        ]
    }
}

/// Renders `items` in `format`; JSON is a list, pretty-printed, ending with a newline.
pub fn render_list<T: Row + Serialize>(format: Format, items: &[T]) -> String {
    match format {
        Format::Json => json(items),
        Format::Table => table(T::HEADERS, items.iter().map(Row::cells).collect()),
    }
}

/// Renders one object; JSON is the object itself.
pub fn render_one<T: Row + Serialize>(format: Format, item: &T) -> String {
    match format {
        Format::Json => json(item),
        Format::Table => table(T::HEADERS, vec![item.cells()]),
    }
}

fn json<T: Serialize + ?Sized>(value: &T) -> String {
    // Serializing plain data structs to a string cannot fail.
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// Left-aligned columns separated by two spaces; cells are kept on one line.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| {
            r.into_iter()
                .map(|c| c.replace(['\n', '\r', '\t'], " "))
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(headers.to_vec());
    for row in &rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::RuntimeState;

    #[test]
    fn table_aligns_columns() {
        let runs = vec![
            Run {
                run_id: "r1".into(),
                display_name: "first run".into(),
                state: RuntimeState::Running,
                ..Default::default()
            },
            Run {
                run_id: "run-22".into(),
                display_name: "b".into(),
                state: RuntimeState::Failed,
                created_at: Some("2026-01-01T00:00:00Z".into()),
                ..Default::default()
            },
        ];
        assert_eq!(
            render_list(Format::Table, &runs),
            "RUN ID  NAME       STATE    CREATED AT\n\
             r1      first run  RUNNING\n\
             run-22  b          FAILED   2026-01-01T00:00:00Z\n"
        );
    }

    #[test]
    fn json_uses_swagger_field_names() {
        let run = Run {
            run_id: "r1".into(),
            state: RuntimeState::Succeeded,
            ..Default::default()
        };
        let value: serde_json::Value =
            serde_json::from_str(&render_one(Format::Json, &run)).unwrap();
        assert_eq!(value["run_id"], "r1");
        assert_eq!(value["state"], "SUCCEEDED");
    }
}
