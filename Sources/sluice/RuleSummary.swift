import SluiceServer

/// One line describing a rule, for the startup banner.
enum RuleSummary {
    static func describe(_ rule: Rule) -> String {
        var text = "\(rule.name): \(rule.policy.algorithm.rawValue) \(rule.policy.limit) per \(rule.policy.window)"
        if rule.policy.algorithm == .tokenBucket { text += " (burst \(rule.policy.burst))" }
        text += " by \(rule.identity.map(\.description).joined(separator: "+"))"
        if !rule.match.methods.isEmpty { text += " for \(rule.match.methods.sorted().joined(separator: ","))" }
        if let host = rule.match.host { text += " on \(host)" }
        if rule.match.pathPrefix != "/" { text += " under \(rule.match.pathPrefix)" }
        if rule.cost != 1 { text += ", cost \(rule.cost)" }
        if rule.shadow { text += ", shadow" }
        return text
    }
}
