//! `mediastream plot`.

use super::{CliError, Exit};
use crate::args::PlotArgs;
use crate::plot::{self, data, svg};

/// What `-o` asks for, by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Svg,
    Html,
}

fn format_of(path: &str) -> Result<Format, CliError> {
    let lower = path.to_ascii_lowercase();
    if lower.ends_with(".svg") {
        Ok(Format::Svg)
    } else if lower.ends_with(".html") || lower.ends_with(".htm") {
        Ok(Format::Html)
    } else {
        Err(CliError::Usage(format!(
            "-o/--output {path}: the report is written as FILE.svg or FILE.html; name the file so"
        )))
    }
}

#[allow(clippy::print_stdout)]
pub fn run(args: PlotArgs) -> Result<Exit, CliError> {
    let format = format_of(&args.output)?;
    crate::report::output::check(
        "-o/--output",
        &args.output,
        crate::report::output::Write::Replace(format!("{}.partial", args.output).into()),
    )?;
    let data = data::load(&args.input, args.stream)?;
    let title = args
        .title
        .clone()
        .unwrap_or_else(|| plot::default_title(&data));
    let image = svg::render(&data, &title).map_err(CliError::Runtime)?;
    let text = match format {
        Format::Svg => image,
        Format::Html => plot::html(&data, &title, &image),
    };
    let path = &args.output;
    let tmp = format!("{path}.partial");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            CliError::Runtime(format!("cannot write {path}: {e}"))
        })?;
    println!(
        "mediastream plot: stream {} ({} {}, {} frames) of {} -> {path}",
        data.index,
        data.role,
        data.local,
        data.frames.len(),
        args.input
    );
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_extension_picks_the_format() {
        assert_eq!(format_of("a/report.svg").ok(), Some(Format::Svg));
        assert_eq!(format_of("REPORT.HTML").ok(), Some(Format::Html));
        assert_eq!(format_of("r.htm").ok(), Some(Format::Html));
        assert!(matches!(format_of("r.png"), Err(CliError::Usage(_))));
    }
}
