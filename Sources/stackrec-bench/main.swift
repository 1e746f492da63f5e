import Glibc
import StackRecBench

exit(BenchCommand.main(CommandLine.arguments))
