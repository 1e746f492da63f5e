import Testing
@testable import StackRec
