"""Record linkage of persons across organisations (Splink), stable clusters, review queue."""
