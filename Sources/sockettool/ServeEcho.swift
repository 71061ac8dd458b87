import ArgumentParser

struct ServeEcho: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "echo", abstract: "TODO")
    func run() throws {}
}
