//! Wire types into domain types and back. Only this module and `service/` see the wire
//! types; the engine never does.

pub(crate) mod fields;
pub(crate) mod schema;
