fn main() {
    eprintln!("executor_overhead: being written");
}
