//! Explain: per field, the value (secrets redacted), the layer it came from and the lower
//! layers it overrode.

use std::fmt;

use serde::Serialize;

use crate::error::{Error, Problem};

use crate::VaultConfig;
use crate::resolve::{PathCheck, Resolved};

/// Where every field's value comes from, for one load.
#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    /// The root struct.
    pub type_name: &'static str,
    /// The active profile.
    pub profile: String,
    /// The order of the layers that was in force.
    pub order: Vec<crate::schema::Layer>,
    /// One row per leaf field.
    pub rows: Vec<Row>,
    /// What Vault answered for each path the struct reads (empty without a Vault source).
    pub paths: Vec<PathCheck>,
    /// What reading each config file and the `.env` file found (empty without them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<crate::files::FileCheck>,
    /// The load's problems, when it would fail.
    pub error: Option<Error>,
    /// Values below the winners that would not parse the day they win: warnings, the load
    /// succeeds (`ProblemKind::Shadowed`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<crate::error::Problem>,
}

/// One field of an [`Explanation`].
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct Row {
    /// The field's dotted path.
    pub field: String,
    /// The value as given by its layer, or `[REDACTED]` for a secret, or `(none)`.
    pub value: String,
    /// The winning layer: `env APP_PORT`, `vault secret/app#url`, `default`, or `-`.
    pub source: String,
    /// Lower layers that also had a value.
    pub overridden: Vec<String>,
    /// Whether the field is a secret.
    pub secret: bool,
}

impl Explanation {
    /// The row of a field, by dotted path.
    pub fn row(&self, field: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.field == field)
    }

    /// Whether loading would succeed.
    pub fn is_ok(&self) -> bool {
        self.error.is_none()
    }

    /// The explanation as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

impl fmt::Display for Explanation {
    /// An aligned table, then the problems if the load would fail.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX_VALUE: usize = 48;
        let header = ["FIELD", "VALUE", "SOURCE", "OVERRIDES"];
        let cells: Vec<[String; 4]> = self
            .rows
            .iter()
            .map(|r| {
                let value: String = if r.value.chars().count() > MAX_VALUE {
                    r.value
                        .chars()
                        .take(MAX_VALUE - 3)
                        .chain("...".chars())
                        .collect()
                } else {
                    r.value.clone()
                };
                [
                    r.field.clone(),
                    value.escape_debug().to_string(),
                    r.source.clone(),
                    r.overridden.join(", "),
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &cells {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let order: Vec<&str> = self.order.iter().map(|l| l.name()).collect();
        writeln!(
            f,
            "{} (profile `{}`, order {})",
            self.type_name,
            self.profile,
            order.join(" > ")
        )?;
        let line = |f: &mut fmt::Formatter<'_>, row: [&str; 4]| {
            let text = row
                .iter()
                .zip(widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect::<Vec<_>>()
                .join("  ");
            writeln!(f, "{}", text.trim_end())
        };
        line(f, header)?;
        for row in &cells {
            line(f, [&row[0], &row[1], &row[2], &row[3]])?;
        }
        if !self.files.is_empty() {
            let files: Vec<String> = self
                .files
                .iter()
                .map(|c| format!("{} ({})", c.file, c.status.as_str()))
                .collect();
            writeln!(f, "files: {}", files.join(", "))?;
        }
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        if let Some(error) = &self.error {
            write!(f, "\n{error}")?;
        }
        Ok(())
    }
}

/// A load's explanation: every row, every path's answer and the report, if any.
pub(crate) fn finish<T: VaultConfig>(resolved: Resolved<'_>) -> Explanation {
    let rows = resolved
        .rows()
        .map(|(field, value, source, overridden)| Row {
            field: field.path.clone(),
            value,
            source: source.to_owned(),
            overridden: overridden.to_vec(),
            secret: field.secret,
        })
        .collect();
    let (type_name, profile, order) = (
        resolved.schema.type_name,
        resolved.target.profile.clone(),
        resolved.layers.clone(),
    );
    let (paths, files) = (resolved.paths.clone(), resolved.files.clone());
    let (built, warnings) = crate::build::settings_and_warnings::<T>(resolved);
    let rows = mark_shadowed(rows, &warnings);
    Explanation {
        type_name,
        profile,
        order,
        rows,
        paths,
        files,
        error: built.err(),
        warnings,
    }
}

/// Marks each overridden source whose value would not parse (see
/// [`ProblemKind::Shadowed`](crate::ProblemKind::Shadowed)).
fn mark_shadowed(mut rows: Vec<Row>, warnings: &[Problem]) -> Vec<Row> {
    for row in &mut rows {
        for source in &mut row.overridden {
            let bad = warnings.iter().any(|w| {
                w.field.as_deref() == Some(row.field.as_str())
                    && w.message
                        .contains(&format!(" from {source} is not a valid "))
            });
            if bad {
                source.push_str(" (would not parse)");
            }
        }
    }
    rows
}
