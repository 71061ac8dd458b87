import ArgumentParser

struct ServeApp: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "app", abstract: "TODO")
    func run() throws {}
}
