// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "stackrec",
  products: [
    .library(name: "StackRec", targets: ["StackRec"]),
    .executable(name: "stackrec-precompute", targets: ["stackrec-precompute"]),
    .executable(name: "stackrec-blend", targets: ["stackrec-blend"]),
    .executable(name: "stackrec-bench", targets: ["stackrec-bench"]),
  ],
  targets: [
    .systemLibrary(
      name: "CSQLite",
      providers: [.apt(["libsqlite3-dev"])]
    ),
    .systemLibrary(
      name: "CZlib",
      providers: [.apt(["zlib1g-dev"])]
    ),
    .systemLibrary(name: "CLinux"),
    .target(
      name: "StackRec",
      dependencies: ["CSQLite", "CZlib", "CLinux"]
    ),
    .executableTarget(
      name: "stackrec-precompute",
      dependencies: ["StackRec"]
    ),
    .executableTarget(
      name: "stackrec-blend",
      dependencies: ["StackRec"]
    ),
    .target(
      name: "StackRecBench",
      dependencies: ["StackRec"]
    ),
    .executableTarget(
      name: "stackrec-bench",
      dependencies: ["StackRecBench"]
    ),
    .testTarget(
      name: "StackRecTests",
      dependencies: ["StackRec"]
    ),
    .testTarget(
      name: "StackRecEndToEndTests",
      dependencies: ["StackRec"]
    ),
  ]
)
