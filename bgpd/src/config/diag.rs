//! Diagnostics: what `bgpd check` prints, and the map from a dotted field path to the line
//! and column it came from.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// How bad a problem is.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Severity {
    /// The configuration is refused.
    Error,
    /// The configuration is accepted, but something is probably wrong.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One problem found in a configuration file.
///
/// Rendered as one line:
/// `FILE:LINE:COL: error[RULE] FIELD: MESSAGE; fix: FIX`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The file as given to [`crate::config::check_file`] (or the name given to
    /// [`crate::config::check_str`]).
    pub file: String,
    /// 1-based line; 0 when the problem has no place in the file (e.g. it cannot be read).
    pub line: u32,
    /// 1-based column in characters; 0 with `line`.
    pub column: u32,
    /// Dotted path of the field, e.g. `connections[0].tunnels[1].inside_cidr`; empty for
    /// the whole document.
    pub field: String,
    /// Rule ID: one of docs/CONFIG.md §"Rule IDs" (provider rules keep the IDs of
    /// shared/reference/cloud-vpn-rules.md, e.g. `ADDR-AWS-2`).
    pub rule: &'static str,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}[{}] ",
            self.file, self.line, self.column, self.severity, self.rule
        )?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)?;
        if let Some(fix) = &self.fix {
            write!(f, "; fix: {fix}")?;
        }
        Ok(())
    }
}

/// Everything `check` found, errors first when rendered.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Report {
    diagnostics: Vec<Diagnostic>,
}

impl Report {
    /// An empty report.
    pub fn new() -> Self {
        Report::default()
    }

    /// Adds a diagnostic.
    pub fn push(&mut self, d: Diagnostic) {
        self.diagnostics.push(d);
    }

    /// All diagnostics in file order (line, then column).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// The errors.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }

    /// The warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
    }

    /// Whether there is no error (warnings allowed).
    pub fn is_ok(&self) -> bool {
        self.errors().next().is_none()
    }

    /// One line per diagnostic (in file order), then a summary line when there is anything
    /// to report. Empty for a clean configuration.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for d in &self.diagnostics {
            out.push_str(&d.to_string());
            out.push('\n');
        }
        let (e, w) = (self.errors().count(), self.warnings().count());
        if e + w > 0 {
            out.push_str(&format!(
                "{e} error{}, {w} warning{}\n",
                if e == 1 { "" } else { "s" },
                if w == 1 { "" } else { "s" }
            ));
        }
        out
    }

    pub(crate) fn sort(&mut self) {
        self.diagnostics.sort_by(|a, b| {
            (a.line, a.column, a.severity, a.rule).cmp(&(b.line, b.column, b.severity, b.rule))
        });
        self.diagnostics.dedup();
    }
}

/// Where every field of a document is: dotted path → (key span, value span).
#[derive(Debug, Default)]
pub(crate) struct SourceMap {
    text: String,
    spans: HashMap<String, (Range<usize>, Range<usize>)>,
    /// Start offset of each line.
    lines: Vec<usize>,
}

impl SourceMap {
    /// Indexes `text`; a document that does not parse yields an empty index (the parse
    /// error is reported separately).
    pub(crate) fn new(text: &str) -> Self {
        let mut map = SourceMap {
            text: text.to_owned(),
            spans: HashMap::new(),
            lines: std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .collect(),
        };
        if let Ok(root) = DeTable::parse(text) {
            let span = root.span();
            map.walk_table(root.get_ref(), "", span);
        }
        map
    }

    fn walk_table(&mut self, t: &DeTable<'_>, path: &str, _span: Range<usize>) {
        for (k, v) in t.iter() {
            let p = if path.is_empty() {
                k.get_ref().to_string()
            } else {
                format!("{path}.{}", k.get_ref())
            };
            self.spans.insert(p.clone(), (k.span(), v.span()));
            self.walk_value(v, &p);
        }
    }

    fn walk_value(&mut self, v: &Spanned<DeValue<'_>>, path: &str) {
        match v.get_ref() {
            DeValue::Table(t) => self.walk_table(t, path, v.span()),
            DeValue::Array(a) => {
                for (i, item) in a.iter().enumerate() {
                    let p = format!("{path}[{i}]");
                    self.spans.insert(p.clone(), (item.span(), item.span()));
                    self.walk_value(item, &p);
                }
            }
            _ => {}
        }
    }

    /// Line and column (1-based) of a byte offset.
    pub(crate) fn line_col(&self, offset: usize) -> (u32, u32) {
        let line = self.lines.partition_point(|&start| start <= offset).max(1);
        let start = self.lines.get(line - 1).copied().unwrap_or(0);
        let col = self
            .text
            .get(start..offset.min(self.text.len()))
            .map_or(0, |s| s.chars().count());
        (
            u32::try_from(line).unwrap_or(u32::MAX),
            u32::try_from(col + 1).unwrap_or(u32::MAX),
        )
    }

    /// Where a field's value starts; for a field absent from the file (a default), where
    /// its nearest present ancestor starts.
    pub(crate) fn locate(&self, field: &str) -> (u32, u32) {
        let mut p = field;
        loop {
            if let Some((_, value)) = self.spans.get(p) {
                return self.line_col(value.start);
            }
            match p.rfind(['.', '[']) {
                Some(i) => p = p.get(..i).unwrap_or(""),
                None => return (1, 1),
            }
        }
    }

    /// The deepest field whose key or value contains `span` (for parser errors, which
    /// carry a span but no path).
    pub(crate) fn field_at(&self, span: &Range<usize>) -> String {
        self.spans
            .iter()
            .filter(|(_, (k, v))| {
                (k.start <= span.start && span.start < k.end.max(k.start + 1))
                    || (v.start <= span.start && span.start < v.end.max(v.start + 1))
            })
            .max_by_key(|(p, (_, v))| (p.len(), std::cmp::Reverse(v.len())))
            .map(|(p, _)| p.clone())
            .unwrap_or_default()
    }
}

/// Collects diagnostics for one file, placing each by its field path.
pub(crate) struct Sink<'a> {
    pub(crate) file: &'a str,
    pub(crate) map: &'a SourceMap,
    pub(crate) report: Report,
}

impl Sink<'_> {
    pub(crate) fn emit(
        &mut self,
        severity: Severity,
        rule: &'static str,
        field: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<Option<String>>,
    ) {
        let field = field.into();
        let (line, column) = self.map.locate(&field);
        self.report.push(Diagnostic {
            severity,
            file: self.file.to_owned(),
            line,
            column,
            field,
            rule,
            message: message.into(),
            fix: fix.into(),
        });
    }

    pub(crate) fn error(
        &mut self,
        rule: &'static str,
        field: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.emit(Severity::Error, rule, field, message, Some(fix.into()));
    }

    pub(crate) fn warn(
        &mut self,
        rule: &'static str,
        field: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.emit(Severity::Warning, rule, field, message, Some(fix.into()));
    }
}

/// Custom deserializers tag their errors as `"[RULE] message\nfix: text"` so the rule ID
/// survives serde's string-only error channel.
pub(crate) fn tagged(rule: &str, message: impl fmt::Display, fix: impl fmt::Display) -> String {
    format!("[{rule}] {message}\nfix: {fix}")
}

/// Turns a `toml` parse or deserialize error into a diagnostic.
pub(crate) fn from_toml_error(
    err: &toml::de::Error,
    syntax: bool,
    file: &str,
    map: &SourceMap,
) -> Diagnostic {
    let span = err.span().unwrap_or(0..0);
    let (line, column) = map.line_col(span.start);
    let field = if syntax {
        String::new()
    } else {
        map.field_at(&span)
    };
    let raw = err.message().trim();
    let (rule, message, fix): (&'static str, String, Option<String>) = if syntax {
        (
            "CFG-SYNTAX",
            format!("TOML syntax error: {raw}"),
            Some("correct the TOML syntax at this place (https://toml.io)".into()),
        )
    } else if let Some(rest) = raw.strip_prefix('[') {
        let (id, rest) = rest.split_once("] ").unwrap_or(("CFG-TYPE", rest));
        let (msg, fix) = rest.split_once("\nfix: ").unwrap_or((rest, ""));
        (
            super::rules::intern(id),
            msg.to_owned(),
            (!fix.is_empty()).then(|| fix.to_owned()),
        )
    } else if raw.starts_with("unknown field") {
        (
            "CFG-UNKNOWN-FIELD",
            raw.to_owned(),
            Some("remove the field or correct its spelling (see docs/CONFIG.md)".into()),
        )
    } else if raw.starts_with("unknown variant") {
        (
            "CFG-UNKNOWN-VALUE",
            raw.to_owned(),
            Some("use one of the listed values".into()),
        )
    } else if raw.starts_with("missing field") {
        (
            "CFG-MISSING-FIELD",
            raw.to_owned(),
            Some("add the field (see docs/CONFIG.md for its meaning)".into()),
        )
    } else {
        (
            "CFG-TYPE",
            raw.to_owned(),
            Some("give the field a value of the documented type (see docs/CONFIG.md)".into()),
        )
    };
    Diagnostic {
        severity: Severity::Error,
        file: file.to_owned(),
        line,
        column,
        field,
        rule,
        message,
        fix,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_fields_and_falls_back_to_ancestors() {
        let text = "[global]\nasn = 1\n\n[[connections]]\nname = \"a\"\n[[connections.tunnels]]\ninside_cidr = \"x\"\n";
        let map = SourceMap::new(text);
        assert_eq!(map.locate("global.asn"), (2, 7));
        assert_eq!(map.locate("connections[0].tunnels[0].inside_cidr"), (7, 15));
        assert_eq!(map.locate("connections[0].tunnels[0].role"), (6, 1));
        assert_eq!(map.locate("connections[0].mode"), (4, 1));
        assert_eq!(map.locate("nothing.here"), (1, 1));
        assert_eq!(map.field_at(&(41..44)), "connections[0].name");
    }

    #[test]
    fn renders_one_line() {
        let d = Diagnostic {
            severity: Severity::Error,
            file: "examples/s1.toml".into(),
            line: 14,
            column: 15,
            field: "connections[0].tunnels[1].inside_cidr".into(),
            rule: "ADDR-ALI-2",
            message: "169.254.6.0/30 is reserved by Alibaba Cloud".into(),
            fix: Some("pick another /30".into()),
        };
        assert_eq!(
            d.to_string(),
            "examples/s1.toml:14:15: error[ADDR-ALI-2] connections[0].tunnels[1].inside_cidr: \
             169.254.6.0/30 is reserved by Alibaba Cloud; fix: pick another /30"
        );
    }
}
