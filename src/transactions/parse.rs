//! Turning request bodies and files into items for the pipeline: a JSON array, NDJSON lines
//! or CSV rows (header row, columns named as the fields). A malformed item becomes a
//! rejected item; it never stops the others.

use serde_json::{Map, Value};

use crate::http::error::FieldError;

/// One parsed item, or why it could not be parsed.
pub type Item = Result<Value, Vec<FieldError>>;

fn not_json(e: &serde_json::Error) -> Vec<FieldError> {
    vec![FieldError::new(
        "body",
        format!(
            "is not valid JSON: {}",
            e.to_string().chars().take(120).collect::<String>()
        ),
    )]
}

/// Parses NDJSON: one JSON object per non-empty line.
pub fn ndjson(body: &[u8]) -> Vec<Item> {
    body.split(|b| *b == b'\n')
        .filter(|line| line.iter().any(|b| !b.is_ascii_whitespace()))
        .map(|line| serde_json::from_slice::<Value>(line).map_err(|e| not_json(&e)))
        .collect()
}

/// Columns a CSV may carry besides the transaction fields and is read by other features
/// (the outcome `label`; ignored by scoring).
pub const CSV_PASSTHROUGH: &[&str] = &["label"];

/// Reads CSV rows as items. Empty cells are absent fields; `metadata` holds JSON text.
/// Errors only when the header itself cannot be read.
pub struct CsvItems<R: std::io::Read> {
    reader: csv::Reader<R>,
    headers: Vec<String>,
}

impl<R: std::io::Read> CsvItems<R> {
    pub fn new(input: R) -> Result<Self, String> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(input);
        let headers = reader
            .headers()
            .map_err(|e| format!("the CSV header row cannot be read: {e}"))?
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').to_owned())
            .collect::<Vec<_>>();
        if headers.iter().all(|h| h.is_empty()) {
            return Err("the CSV has no header row".into());
        }
        Ok(Self { reader, headers })
    }

    /// The next row (with its label, if the CSV has a `label` column), or `None` at the end.
    pub fn next_item(&mut self) -> Option<(Item, Option<String>)> {
        let mut record = csv::StringRecord::new();
        match self.reader.read_record(&mut record) {
            Ok(false) => None,
            Err(e) => Some((
                Err(vec![FieldError::new("row", format!("cannot be read: {e}"))]),
                None,
            )),
            Ok(true) => {
                let mut obj = Map::new();
                let mut errors = Vec::new();
                let mut label = None;
                if record.len() != self.headers.len() {
                    errors.push(FieldError::new(
                        "row",
                        format!(
                            "has {} cells, the header {}",
                            record.len(),
                            self.headers.len()
                        ),
                    ));
                }
                for (name, cell) in self.headers.iter().zip(record.iter()) {
                    if cell.is_empty() {
                        continue;
                    }
                    if name == "label" {
                        label = Some(cell.to_owned());
                        continue;
                    }
                    let value = if name == "metadata" {
                        match serde_json::from_str::<Value>(cell) {
                            Ok(v) => v,
                            Err(_) => {
                                errors.push(FieldError::new("metadata", "must be a JSON object"));
                                continue;
                            }
                        }
                    } else {
                        Value::String(cell.to_owned())
                    };
                    obj.insert(name.clone(), value);
                }
                let item = if errors.is_empty() {
                    Ok(Value::Object(obj))
                } else {
                    Err(errors)
                };
                Some((item, label))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndjson_keeps_good_lines_beside_bad_ones() {
        let items = ndjson(b"{\"a\":1}\n\nnot json\n{\"b\":2}\n");
        assert_eq!(items.len(), 3);
        assert!(items[0].is_ok());
        assert!(items[1].is_err());
        assert!(items[2].is_ok());
    }

    #[test]
    fn csv_rows_become_objects_with_empty_cells_absent() {
        let data = "external_id,amount,merchant,metadata,label\n\
                    t1,12.50,,\"{\"\"k\"\":1}\",fraud\n\
                    t2,3\n";
        let mut items = CsvItems::new(data.as_bytes()).unwrap();
        let (first, label) = items.next_item().unwrap();
        let first = first.unwrap();
        assert_eq!(first["amount"], "12.50");
        assert!(first.get("merchant").is_none());
        assert_eq!(first["metadata"]["k"], 1);
        assert_eq!(label.as_deref(), Some("fraud"));
        let (second, _) = items.next_item().unwrap();
        assert!(second.is_err(), "short row is rejected");
        assert!(items.next_item().is_none());
    }
}
