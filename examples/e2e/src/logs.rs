//! A `tracing` subscriber that records every event and span, at every level,
//! with all fields, so a test can search the log for secrets.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::Registry;

/// Records the text of every event and span created while it is installed.
#[derive(Clone, Debug, Default)]
pub struct LogRecorder {
    lines: Arc<Mutex<Vec<String>>>,
}

impl LogRecorder {
    /// Creates a recorder with nothing recorded.
    pub fn new() -> Self {
        Self::default()
    }

    /// Installs the recorder as this thread's default subscriber until the guard drops.
    ///
    /// Tasks of a current-thread Tokio runtime run on this thread, so a server
    /// spawned on it logs here too.
    #[must_use = "the recorder is uninstalled when the guard drops"]
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        tracing::subscriber::set_default(self.subscriber())
    }

    /// Builds a subscriber that records into this recorder.
    pub fn subscriber(&self) -> impl Subscriber + Send + Sync + 'static {
        Registry::default().with(RecordingLayer {
            lines: Arc::clone(&self.lines),
        })
    }

    /// Returns the recorded lines: `LEVEL target: name field=value ...` for
    /// each event, span creation and span record.
    pub fn lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

struct RecordingLayer {
    lines: Arc<Mutex<Vec<String>>>,
}

impl RecordingLayer {
    fn push(&self, line: String) {
        self.lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(line);
    }
}

impl<S: Subscriber> tracing_subscriber::Layer<S> for RecordingLayer {
    fn on_event(&self, event: &Event<'_>, _context: Context<'_, S>) {
        let metadata = event.metadata();
        let mut line = format!("{} {}:", metadata.level(), metadata.target());
        event.record(&mut FieldWriter(&mut line));
        self.push(line);
    }

    fn on_new_span(&self, attributes: &Attributes<'_>, _id: &Id, _context: Context<'_, S>) {
        let metadata = attributes.metadata();
        let mut line = format!(
            "{} {}: span {}",
            metadata.level(),
            metadata.target(),
            metadata.name()
        );
        attributes.record(&mut FieldWriter(&mut line));
        self.push(line);
    }

    fn on_record(&self, _span: &Id, values: &Record<'_>, _context: Context<'_, S>) {
        let mut line = String::from("span record:");
        values.record(&mut FieldWriter(&mut line));
        self.push(line);
    }
}

/// Appends ` name=value` for each field, strings unquoted and unescaped so a
/// secret appears exactly as it was logged.
struct FieldWriter<'a>(&'a mut String);

impl Visit for FieldWriter<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={value}", field.name());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let _ = write!(self.0, " {}={value}", field.name());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_and_spans_are_recorded_with_fields() {
        let recorder = LogRecorder::new();
        {
            let _guard = recorder.install();
            let span = tracing::trace_span!("request", id = "s-1");
            let _entered = span.enter();
            tracing::trace!(secret = "quoted \"value\"", count = 3, "hello");
        }
        tracing::error!("after the guard");
        let lines = recorder.lines();
        assert_eq!(lines.len(), 2, "one span and one event: {lines:?}");
        assert!(lines[0].contains("span request id=s-1"), "{lines:?}");
        assert!(lines[1].contains("message=hello"), "{lines:?}");
        assert!(lines[1].contains("secret=quoted \"value\""), "{lines:?}");
        assert!(lines[1].contains("count=3"), "{lines:?}");
    }
}
