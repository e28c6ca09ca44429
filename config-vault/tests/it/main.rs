//! The client's behaviour where a mock shows what no healthy server does (faults, hostile
//! answers, exact request counts and headers), one binary; what a healthy server does is
//! tested against OpenBao in the facade's `tests/it`.

mod common;

mod auth;
mod env;
mod faults;
mod kv;
