"""Training and evaluation data: MNIST (`mnist`) and the photographs of training/photos.txt (`photos`)."""
