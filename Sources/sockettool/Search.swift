import ArgumentParser

struct Search: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "TODO")
    func run() throws {}
}
