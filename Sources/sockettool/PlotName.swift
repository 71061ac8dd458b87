// PlotName.swift -- what --plot accepts (flood, trace): a file name it can honour. Both write SVG and
// nothing else, so a name that asks for another format (x.png, x.pdf) is refused, not silently filled
// with SVG.
import ArgumentParser

/// Refuses an empty --plot name, or one whose extension names a format other than SVG.
func validatePlotName(_ plot: String?, example: String) throws {
    guard let plot else { return }
    if plot.isEmpty { throw ValidationError("--plot needs a file name, such as \(example).") }
    let name = plot.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
    guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return }
    let suffix = name[name.index(after: dot)...]
    if suffix.lowercased() != "svg" {
        throw ValidationError(
            "--plot writes SVG only, not .\(suffix): name the file \(example) (rsvg-convert or a browser turns it into PNG)."
        )
    }
}
