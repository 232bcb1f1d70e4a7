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

# What a client showing a path asks for: the steps in order, each with why (the strongest assertion
# of each reason, as a sentence) and what to read. LEARNING_PATH above adds every assertion and the
# from/to/requiredBy objects of every reason: about four times the fields and bytes.
LEARNING_PATH_OUTLINE = """
query LearningPathOutline($to: [String!]!, $known: [String!] = [], $minConfidence: Float! = 0, $maxSteps: Int,
                          $vault: String) {
  learningPath(to: $to, known: $known, minConfidence: $minConfidence, maxSteps: $maxSteps, vault: $vault) {
    targets { name key vault }
    steps {
      position depth stage isTarget inCycle minutes
      concept { name key }
      requires { name }
      reasons { relation text confidence rule note line implied }
      notes { path title minutes kind }
    }
    totals { steps minutes notes longestChain }
    cycles { concepts { name } }
    omittedSteps
    warnings
  }
}
"""
