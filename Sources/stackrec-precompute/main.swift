import Glibc
import StackRec

exit(PrecomputeCommand.main(CommandLine.arguments))
