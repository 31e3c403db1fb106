//! The integration tests of quiver-expr, one binary: golden files, the differential test
//! against a naive interpreter, the bounded fuzz test and the limits.

mod differential;
mod fuzz;
mod golden;
mod limits;
mod reference;
mod support;
