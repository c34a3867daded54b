//! Sentiment of a note from VADER's lexicon and rules (the `vader_sentiment`
//! crate): its compound score in [-1, 1], split at VADER's published
//! thresholds of ±0.05.

use crate::domain::Sentiment;
use vader_sentiment::SentimentIntensityAnalyzer;

/// VADER's recommended cut-off between neutral and polar text.
const THRESHOLD: f64 = 0.05;

/// VADER's compound score for `text`.
pub fn compound(text: &str) -> f64 {
    let analyzer = SentimentIntensityAnalyzer::new();
    let scores = analyzer.polarity_scores(text);
    scores.get("compound").copied().unwrap_or(0.0)
}

/// Positive, neutral or negative.
pub fn sentiment(text: &str) -> Sentiment {
    let c = compound(text);
    if c >= THRESHOLD {
        Sentiment::Positive
    } else if c <= -THRESHOLD {
        Sentiment::Negative
    } else {
        Sentiment::Neutral
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_sales_notes() {
        assert_eq!(
            sentiment("The CFO loved the ROI calculator, great call!"),
            Sentiment::Positive
        );
        assert_eq!(
            sentiment("They hate the pricing and the demo was terrible."),
            Sentiment::Negative
        );
        assert_eq!(
            sentiment("Procurement meets on Tuesday."),
            Sentiment::Neutral
        );
        assert_eq!(sentiment(""), Sentiment::Neutral);
    }

    #[test]
    fn handles_negation() {
        assert_eq!(sentiment("The webinar was not good."), Sentiment::Negative);
    }
}
