"""GraphQL documents kg itself sends (the `kg path` command), so the terminal and the API agree."""

from __future__ import annotations

LEARNING_PATH = """
query LearningPath($to: [String!]!, $known: [String!] = [], $minConfidence: Float! = 0, $maxSteps: Int,
                   $vault: String) {
  learningPath(to: $to, known: $known, minConfidence: $minConfidence, maxSteps: $maxSteps, vault: $vault) {
    targets { name key vault }
    steps {
      position depth stage isTarget inCycle minutes
      concept { name key aliases }
      requires { name }
      reasons {
        relation text confidence rule evidence note line implied
        from { name } to { name } requiredBy { name }
        assertions { rule confidence text note line }
      }
      notes { path title minutes kind }
    }
    totals { steps minutes notes longestChain }
    cycles { concepts { name } }
    known { name }
    implicitlyKnown { name }
    omittedSteps
    minConfidence
    warnings
  }
}
"""
