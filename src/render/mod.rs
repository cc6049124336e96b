//! Writers for the document formats beyond table/CSV/JSON: a self-contained HTML page with
//! inline SVG charts ([`html`], drawn by [`svg`]) and an Excel workbook ([`xlsx`]).

pub mod html;
pub mod svg;
pub mod xlsx;
