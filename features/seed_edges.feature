@policy @edges
Feature: The rules on the edges of the seeded data
  The seeded world holds a meeting of every sensitivity (Graph and EWS normal, personal,
  private, confidential; Google default, public, private, confidential), users on a look-alike
  domain (evil<contoso>), on an IDN homograph of their tenant's domain and with a mixed-case
  address; the scenarios use clients at exactly 5.2.1, 5.2.2 and 5.10.0 and Exchange builds on
  both sides of Exchange 2016 CU3 (15.1.544.27).

  @req:PRIV-02 @req:PRIV-03 @needs:office365-graph @needs:scheduling-privileges
  Scenario: Through Graph, an assistant sees every meeting marked private or confidential as a time slot only, and normal and personal ones whole
    Given an account whose first member has connected Office 365 through Graph with calendar "Write" and contacts "None"
    And that member is the executive and the second member the assistant
    And the executive's calendar holds meetings marked "normal, personal, private, confidential"
    And the executive gives the assistant scheduling privilege
    When the assistant views the executive's calendar around the providers' today
    Then the assistant sees every meeting marked private or confidential as a time slot only, and every other meeting with its topic

  @req:PRIV-02 @req:PRIV-03 @needs:office365-ews @needs:scheduling-privileges
  Scenario: Through the EWS URL, an assistant sees every meeting marked private or confidential as a time slot only, and normal and personal ones whole
    Given an account whose first member has connected Office 365 through the EWS URL with calendar "Write" and contacts "None"
    And that member is the executive and the second member the assistant
    And the executive's calendar holds meetings marked "normal, personal, private, confidential"
    And the executive gives the assistant scheduling privilege
    When the assistant views the executive's calendar around the providers' today
    Then the assistant sees every meeting marked private or confidential as a time slot only, and every other meeting with its topic

  @req:PRIV-02 @req:PRIV-03 @needs:google @needs:scheduling-privileges
  Scenario: Through Google, an assistant sees every meeting whose visibility is private or confidential as a time slot only, and default and public ones whole
    Given an account whose first member has connected Google with calendar "Write" and contacts "None"
    And that member is the executive and the second member the assistant
    And the executive's calendar holds meetings marked "default, public, private, confidential"
    And the executive gives the assistant scheduling privilege
    When the assistant views the executive's calendar around the providers' today
    Then the assistant sees every meeting marked private or confidential as a time slot only, and every other meeting with its topic

  @req:DOMAIN-04 @req:DOMAIN-01 @needs:office365-graph
  Scenario Outline: A user whose address is on a <kind> domain cannot integrate when only <contoso>. is allowed
    Given a meeting platform account owned by the admin of tenant "contoso"
    And the admin enables calendar and contacts integration
    And the admin sets the default calendar service to "Office 365" authorized with "Graph API"
    And the admin changes the account settings:
      | setting         | value      |
      | allowed_domains | <CONTOSO>. |
    And the user is the tenant "contoso" user with a <kind> address
    When the user tries to set up the calendar integration with the default service from the profile
    Then the set-up is refused with "domain_not_allowed" and a message containing "is not one of them"
    And the user was never sent to sign in at Microsoft

    Examples:
      | kind       |
      | look-alike |
      | homograph  |

  @req:DOMAIN-02 @needs:office365-graph
  Scenario: A current user with a mixed-case address inside the allowed domains keeps their integration and can set it up again
    Given a meeting platform account owned by the admin of tenant "contoso"
    And the admin enables calendar and contacts integration
    And the admin sets the default calendar service to "Office 365" authorized with "Graph API"
    And the tenant "contoso" user with a mixed-case address has connected Office 365 with the default settings
    When the admin changes the account settings:
      | setting         | value     |
      | allowed_domains | <contoso> |
    Then the integration status is "connected"
    When the user sets up the calendar integration again with the default service
    Then the integration status is "connected"

  @req:HYBRID-02 @needs:office365-graph
  Scenario Outline: A hybrid environment on Exchange build <build> is told <what> when Graph API is chosen
    Given a meeting platform account owned by the admin of tenant "fabrikam"
    And the admin enables calendar and contacts integration
    When the admin tries to change the account settings:
      | setting               | value   |
      | office365_environment | hybrid  |
      | exchange_onprem_build | <build> |
    Then the change is refused with "<code>" and a message containing "<message>"
    And the policy is unchanged

    Examples:
      | build        | what                              | code                       | message                            |
      | 15.0.1497.2  | to use the EWS URL (Exchange 2013) | hybrid_exchange_before_cu3 | older than Exchange 2016 CU3       |
      | 15.1.544.26  | to use the EWS URL (before CU3)    | hybrid_exchange_before_cu3 | older than Exchange 2016 CU3       |
      | 15.1.544.27  | Graph API is unsupported (CU3)     | graph_hybrid_unsupported   | select Authorize with EWS URL      |
      | 15.1.1034.26 | Graph API is unsupported (CU6)     | graph_hybrid_unsupported   | select Authorize with EWS URL      |
      | 15.1.2507.6  | Graph API is unsupported (CU23)    | graph_hybrid_unsupported   | select Authorize with EWS URL      |
