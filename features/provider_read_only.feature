@permissions @readonly
Feature: Read-only permissions, judged at the provider on every route
  With Calendar/Read and Contacts/Read the integration shows meetings and contacts and never
  writes: not a new meeting, not a move, not a change, not a deletion, not a meeting response,
  not a contact. Each attempt is refused as read-only, and the provider's audit log — not the
  integration's word — shows that no write of any kind reached it, whether the integration
  talks to Office 365 through Graph or through the EWS URL, to Exchange through the EWS URL or
  to Google.

  @req:PERM-02 @req:PERM-04 @needs:office365-graph @needs:contacts
  Scenario: Through Graph, every write on a read-only integration is refused and none reaches Microsoft Graph
    Given an account whose first member has connected Office 365 through Graph with calendar "Read" and contacts "Read"
    And a meeting "Keep me" is added to the user's Office 365 calendar tomorrow at 10:00
    And the integration runs its periodic sync
    When the user tries every write on the meeting "Keep me" and their contacts
    Then each was refused because the permissions are read-only
    And no write of any kind reached the provider
    And the user's calendar and contacts at the provider are unchanged

  @req:PERM-02 @req:PERM-04 @req:EWS-02 @needs:office365-ews @needs:contacts
  Scenario: Through the Office 365 EWS URL, every write on a read-only integration is refused and none reaches Exchange
    Given an account whose first member has connected Office 365 through the EWS URL with calendar "Read" and contacts "Read"
    And a meeting "Keep me" is added to the user's Office 365 calendar tomorrow at 10:00
    And the integration runs its periodic sync
    When the user tries every write on the meeting "Keep me" and their contacts
    Then each was refused because the permissions are read-only
    And no write of any kind reached the provider
    And the user's calendar and contacts at the provider are unchanged

  @req:PERM-02 @req:PERM-04 @req:EXCH-02 @needs:exchange-ews @needs:contacts
  Scenario: Through the on-premises Exchange EWS URL, every write on a read-only integration is refused and none reaches Exchange
    Given an account whose first member has connected Exchange through the EWS URL with calendar "Read" and contacts "Read"
    And a meeting "Keep me" is added to the user's Exchange calendar tomorrow at 10:00
    And the integration runs its periodic sync
    When the user tries every write on the meeting "Keep me" and their contacts
    Then each was refused because the permissions are read-only
    And no write of any kind reached the provider
    And the user's calendar and contacts at the provider are unchanged

  @req:PERM-02 @req:PERM-04 @req:GOOGLE-01 @needs:google @needs:contacts
  Scenario: Through Google, every write on a read-only integration is refused and none reaches Google
    Given an account whose first member has connected Google with calendar "Read" and contacts "Read"
    And a meeting "Keep me" is added to the user's Google calendar tomorrow at 10:00
    And the integration runs its periodic sync
    When the user tries every write on the meeting "Keep me" and their contacts
    Then each was refused because the permissions are read-only
    And no write of any kind reached the provider
    And the user's calendar and contacts at the provider are unchanged

  # Answering a meeting invitation is a write on the calendar too: refused under Calendar/Read on
  # every route, with nothing reaching the provider; with Calendar/Write the same answer reaches
  # it (the refusal is read-only's, not a missing operation).
  @req:PERM-02 @needs:office365-graph @needs:meeting-responses
  Scenario: Through Graph, a read-only integration refuses every answer to an invitation and none reaches Microsoft Graph
    Given an account whose first member has connected Office 365 through Graph with calendar "Read" and contacts "Read"
    And a colleague invites the user to a meeting "Roadmap review" tomorrow at 11:00
    And the integration runs its periodic sync
    When the user tries to accept, tentatively accept and decline the meeting "Roadmap review"
    Then each answer was refused because the calendar is read-only
    And no meeting response reached the provider
    And the user's answer to "Roadmap review" at the provider is "none"

  @req:PERM-02 @req:EWS-02 @needs:office365-ews @needs:meeting-responses
  Scenario: Through the Office 365 EWS URL, a read-only integration refuses every answer to an invitation and none reaches Exchange
    Given an account whose first member has connected Office 365 through the EWS URL with calendar "Read" and contacts "Read"
    And a colleague invites the user to a meeting "Roadmap review" tomorrow at 11:00
    And the integration runs its periodic sync
    When the user tries to accept, tentatively accept and decline the meeting "Roadmap review"
    Then each answer was refused because the calendar is read-only
    And no meeting response reached the provider
    And the user's answer to "Roadmap review" at the provider is "none"

  @req:PERM-02 @req:EXCH-02 @needs:exchange-ews @needs:meeting-responses
  Scenario: Through the on-premises Exchange EWS URL, a read-only integration refuses every answer to an invitation and none reaches Exchange
    Given an account whose first member has connected Exchange through the EWS URL with calendar "Read" and contacts "Read"
    And a colleague invites the user to a meeting "Roadmap review" tomorrow at 11:00
    And the integration runs its periodic sync
    When the user tries to accept, tentatively accept and decline the meeting "Roadmap review"
    Then each answer was refused because the calendar is read-only
    And no meeting response reached the provider
    And the user's answer to "Roadmap review" at the provider is "none"

  @req:PERM-02 @req:GOOGLE-01 @needs:google @needs:meeting-responses
  Scenario: Through Google, a read-only integration refuses every answer to an invitation and none reaches Google
    Given an account whose first member has connected Google with calendar "Read" and contacts "Read"
    And a colleague invites the user to a meeting "Roadmap review" tomorrow at 11:00
    And the integration runs its periodic sync
    When the user tries to accept, tentatively accept and decline the meeting "Roadmap review"
    Then each answer was refused because the calendar is read-only
    And no meeting response reached the provider
    And the user's answer to "Roadmap review" at the provider is "none"

  @req:PERM-02 @needs:office365-graph @needs:meeting-responses
  Scenario: Through Graph, with calendar write the user's acceptance of an invitation reaches Microsoft Graph
    Given an account whose first member has connected Office 365 through Graph with calendar "Write" and contacts "Read"
    And a colleague invites the user to a meeting "Roadmap review" tomorrow at 11:00
    And the integration runs its periodic sync
    When the user accepts the meeting "Roadmap review"
    Then the user's answer to "Roadmap review" at the provider is "accepted"

  @req:PERM-02 @req:EWS-02 @needs:office365-ews @needs:meeting-responses
  Scenario: Through the Office 365 EWS URL, with calendar write the user's acceptance of an invitation reaches Exchange
    Given an account whose first member has connected Office 365 through the EWS URL with calendar "Write" and contacts "Read"
    And a colleague invites the user to a meeting "Roadmap review" tomorrow at 11:00
    And the integration runs its periodic sync
    When the user accepts the meeting "Roadmap review"
    Then the user's answer to "Roadmap review" at the provider is "accepted"

  @req:PERM-02 @req:EXCH-02 @needs:exchange-ews @needs:meeting-responses
  Scenario: Through the on-premises Exchange EWS URL, with calendar write the user's acceptance of an invitation reaches Exchange
    Given an account whose first member has connected Exchange through the EWS URL with calendar "Write" and contacts "Read"
    And a colleague invites the user to a meeting "Roadmap review" tomorrow at 11:00
    And the integration runs its periodic sync
    When the user accepts the meeting "Roadmap review"
    Then the user's answer to "Roadmap review" at the provider is "accepted"

  @req:PERM-02 @req:GOOGLE-01 @needs:google @needs:meeting-responses
  Scenario: Through Google, with calendar write the user's acceptance of an invitation reaches Google
    Given an account whose first member has connected Google with calendar "Write" and contacts "Read"
    And a colleague invites the user to a meeting "Roadmap review" tomorrow at 11:00
    And the integration runs its periodic sync
    When the user accepts the meeting "Roadmap review"
    Then the user's answer to "Roadmap review" at the provider is "accepted"
