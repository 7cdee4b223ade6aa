//! proptest strategies for the values a request file carries: any Unicode text (non-ASCII,
//! control characters, DEL, quotes, backslashes, astral characters), a license key or a user,
//! optional extra members with string, boolean, null and nested-object values, both kinds and
//! every [`Style`](lsconform::protocol::Style).
//!
//! They live in the library, `lsconform::suite::generate::strategies`, where the suite's generated
//! mode (`lsconform run --generated N`) builds its requests from them too.

pub use lsconform::suite::generate::strategies::*;
