import ArgumentParser

struct Connect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "TODO")
    func run() throws {}
}
