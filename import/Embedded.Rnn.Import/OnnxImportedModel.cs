namespace Embedded.Rnn.Import;

/// <summary>An ONNX model read by <see cref="OnnxImport"/>: the spec and weights, and what the import found in the graph.</summary>
/// <param name="Spec">The spec the model needs.</param>
/// <param name="Tensors">The weights in PyTorch's names and gate order.</param>
/// <param name="Signature">How to run the ONNX graph on sequences and read its outputs (for a golden check).</param>
/// <param name="Nodes">Each node of the chain from input to output and what the importer read it as, in order.</param>
/// <param name="Opset">The graph's ONNX operator set version.</param>
/// <param name="Producer">The producer the file names (e.g. "pytorch 1.13.0").</param>
public sealed record OnnxImportedModel(ImportedSpec Spec, IReadOnlyList<ImportedTensor> Tensors, OnnxSignature Signature,
    IReadOnlyList<string> Nodes, int Opset, string Producer) : ImportedModel(Spec, Tensors);
