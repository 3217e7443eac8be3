// Hugging Face safetensors checkpoints for the Model: save every parameter as F32 under its Hugging Face name,
// and load F32 or BF16 files with every tensor's presence, shape, dtype and extent checked against the config.
// Format: 8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}, optional
// "__metadata__": {string: string}}, then the raw little-endian tensor data (offsets relative to its start).
#pragma once

#include <map>
#include <string>

#include "nn/model.hpp"

namespace awsdt::nn {

/// Writes model's parameters to path as F32 safetensors (one tensor per Hugging Face name; a tied model writes
/// no lm_head.weight), atomically via a temporary file and rename; metadata goes to "__metadata__" together
/// with "format": "pt". Throws UsageError naming the path when it cannot be written.
void save_safetensors(const Model& model, const std::string& path,
                      const std::map<std::string, std::string>& metadata = {});

/// Loads every parameter of model from the safetensors file at path (F32 or BF16, converted to fp32).
/// Ignores model.layers.N.self_attn.rotary_emb.inv_freq; a tied model accepts lm_head.weight only when it equals
/// model.embed_tokens.weight. Throws one-line UsageError naming the file and the tensor on a missing, unknown,
/// misshapen, unsupported-dtype or truncated tensor or a malformed header; all of these are found before any
/// parameter changes (only an I/O failure while reading data can leave the model partly loaded).
void load_safetensors(Model& model, const std::string& path);

}  // namespace awsdt::nn
