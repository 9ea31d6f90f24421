// Text side of the engine: tokenizer, incremental detokenizer, chat prompts and output parsing.
export { ErnieTokenizer } from './tokenizer';
export type { TokenizerFiles, SpecialToken, SpecialTokens, SpecialTokenName, EncodeOptions, DecodeOptions } from './tokenizer';
export { TextStreamer } from './streamer';
export type { StreamerOptions, DetokenizerSource } from './streamer';
export { ChatTemplate, ERNIE_45_DEFAULT_TEMPLATE, compileTemplate, configChatTemplate, renderChat } from './chat_template';
export type { ChatMessage, ContentPart, RenderOptions, ToolCall, ToolDefinition } from './chat_template';
export { parseAssistantOutput } from './assistant_output';
export type { AssistantOutput, ParsedToolCall, ParseOptions, ToolCallError } from './assistant_output';
export { parseSentencePieceModel } from './sentencepiece';
export type { SentencePieceModel, SentencePiece, PieceType, TrainerSpec, NormalizerSpec } from './sentencepiece';
export { sentencePieceToTokenizerJson, generateMerges } from './convert';
export type { TokenizerConfig, TokenizerJson, ConvertOptions } from './convert';
