import ArgumentParser

struct Flood: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "TODO")
    func run() throws {}
}
