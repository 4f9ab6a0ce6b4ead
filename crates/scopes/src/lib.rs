//! OAuth scopes: token syntax ([RFC 6749 §3.3]), a catalog of the scopes a server
//! registers, and compact sets of them.
//!
//! This crate does no I/O and never reads the clock. A [`ScopeCatalog`] holds up
//! to 128 registered scopes with their descriptions, in registration order. A
//! [`ScopeSet`] is a 128-bit set over one catalog: it is `Copy`, so token records
//! that carry it need no allocation, and subset checks are one AND.
//!
//! Every scope a server accepts is in its catalog (an unknown scope is
//! `invalid_scope`), so a `ScopeSet` loses nothing. Formatting a set writes its
//! scopes in catalog order, which makes the output canonical.
//!
//! ```
//! use portcullis_scopes::ScopeCatalog;
//!
//! let mut catalog = ScopeCatalog::new();
//! catalog.register("datasets:read", "Read datasets and documents")?;
//! catalog.register("datasets:write", "Create and modify datasets")?;
//!
//! let requested = catalog.parse("datasets:write datasets:read")?;
//! let read = catalog.parse("datasets:read")?;
//! assert!(read.is_subset_of(requested));
//! assert_eq!(catalog.format(requested), "datasets:read datasets:write");
//! assert!(catalog.parse("datasets:read admin").is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [RFC 6749 §3.3]: https://www.rfc-editor.org/rfc/rfc6749#section-3.3
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod catalog;
mod set;
mod syntax;

pub use catalog::{CatalogError, ScopeCatalog, ScopeError};
pub use set::ScopeSet;
pub use syntax::{SyntaxError, is_scope_token, scope_tokens};
