import Glibc
import StackRec

exit(BlendCommand.main(CommandLine.arguments))
